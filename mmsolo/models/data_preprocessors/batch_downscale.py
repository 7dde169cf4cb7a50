# Copyright (c) mmsolo contributors. All rights reserved.
"""Training batches at a lower resolution."""
from typing import List, Tuple

import torch.nn as nn
import torch.nn.functional as F
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import BaseBoxes
from torch import Tensor

from mmsolo.registry import MODELS


@MODELS.register_module()
class BatchDownscale(nn.Module):
    """Down-scale the training batches, with their annotations.

    A batch augment of mmdet's ``DetDataPreprocessor``: the whole (padded)
    batch is resized by about ``ratio``, to a multiple of ``size_divisor``,
    and its instances' masks and boxes with it, while ``enabled``. Testing
    keeps the pipeline's resolution. It is off until a
    :class:`ResolutionScheduleHook` switches it on for the first part of
    training (without the hook, e.g. after ``custom_hooks = []``, training
    runs at the pipeline's resolution throughout): epochs at a lower
    resolution cost less (the convolutions scale with the pixels), so a time
    budget holds more of them (configs/quickstart/README.md, "A resolution
    schedule").

    The masks must be padded with the batch (``pad_mask=True``, as the SOLO
    configs set), so that they resize with it.

    Args:
        ratio (float): Output side over input side, in (0, 1].
        size_divisor (int): The output's height and width are multiples of
            this (the detector's largest stride). Defaults to 32.
        enabled (bool): Down-scale (True) or pass the batch on as it is.
            Defaults to False (the hook switches it).
    """

    def __init__(self,
                 ratio: float,
                 size_divisor: int = 32,
                 enabled: bool = False) -> None:
        super().__init__()
        if not 0 < ratio <= 1:
            raise ValueError(f'ratio must be in (0, 1], got {ratio}')
        if size_divisor < 1:
            raise ValueError(f'size_divisor must be >= 1, got {size_divisor}')
        self.ratio = ratio
        self.size_divisor = size_divisor
        self.enabled = enabled

    def out_shape(self, h: int, w: int) -> Tuple[int, int]:
        """The down-scaled batch's (height, width): ``ratio`` times the
        input's, rounded to a multiple of ``size_divisor`` (at least one)."""
        div = self.size_divisor
        return (max(div,
                    round(h * self.ratio / div) * div),
                max(div,
                    round(w * self.ratio / div) * div))

    def forward(
        self, inputs: Tensor, data_samples: List[DetDataSample]
    ) -> Tuple[Tensor, List[DetDataSample]]:
        """Down-scale the batch (while ``enabled``).

        Args:
            inputs (Tensor): The normalised, padded batch (N, C, H, W).
            data_samples (list[DetDataSample]): Its samples, with
                ``gt_instances`` (``masks`` padded to (H, W), ``bboxes``).

        Returns:
            tuple[Tensor, list[DetDataSample]]: The batch and its samples,
            down-scaled or as they were.
        """
        if not self.enabled:
            return inputs, data_samples
        h, w = inputs.shape[-2:]
        out_h, out_w = self.out_shape(h, w)
        if (out_h, out_w) == (h, w):
            return inputs, data_samples
        inputs = F.interpolate(
            inputs, size=(out_h, out_w), mode='bilinear', align_corners=False)
        for sample in data_samples:
            self._rescale_sample(sample, (h, w), (out_h, out_w))
        return inputs, data_samples

    @staticmethod
    def _rescale_sample(sample: DetDataSample, in_shape: Tuple[int, int],
                        out_shape: Tuple[int, int]) -> None:
        """Resize one sample's masks and boxes, and its shapes."""
        sy, sx = out_shape[0] / in_shape[0], out_shape[1] / in_shape[1]
        gt = sample.gt_instances
        if 'masks' in gt:
            if (gt.masks.height, gt.masks.width) != tuple(in_shape):
                raise ValueError(
                    'BatchDownscale: the masks are not padded with '
                    'the batch; set pad_mask=True in the data preprocessor')
            gt.masks = gt.masks.resize(out_shape)
        if 'bboxes' in gt:
            if isinstance(gt.bboxes, BaseBoxes):
                gt.bboxes.rescale_((sx, sy))
            else:
                gt.bboxes = gt.bboxes * gt.bboxes.new_tensor([sx, sy] * 2)
        h, w = sample.img_shape[:2]
        ph, pw = sample.pad_shape[:2]
        meta = dict(
            img_shape=(round(h * sy), round(w * sx)),
            pad_shape=(round(ph * sy), round(pw * sx)),
            batch_input_shape=tuple(out_shape))
        if 'scale_factor' in sample:
            fx, fy = sample.scale_factor[:2]
            meta['scale_factor'] = (fx * sx, fy * sy)
        sample.set_metainfo(meta)

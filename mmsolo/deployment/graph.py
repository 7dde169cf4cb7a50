# Copyright (c) mmsolo contributors. All rights reserved.
"""A SOLO model as one inference graph: uint8 image in, instances out.

:class:`SOLOInferenceGraph` wraps a built :class:`~mmsolo.models.SOLO` into
the module that :func:`mmsolo.deployment.export_onnx` traces. Everything the
runner does after loading and resizing an image happens inside it:

1. the data pre-processor's work: HWC -> CHW, BGR -> RGB (if the config
   asks for it), normalisation, padding to ``pad_size_divisor``;
2. backbone, neck and head (and the flipped views of ``test_cfg.tta_flips``,
   averaged as :meth:`SOLO.predict` averages them);
3. the head's own post-processing (:func:`~mmsolo.models.layers.
   solo_postprocess`): score threshold, point NMS, maskness, Matrix NMS,
   mask up-sampling and thresholding, and the masks' tight boxes.

Input ``image``: uint8, (1, H, W, 3), channels in the order images are
loaded (BGR for OpenCV), already resized as the test pipeline resizes.
Outputs: ``masks`` uint8 (K, H, W) in {0, 1}, ``labels`` int64 (K,),
``scores`` float32 (K,) sorted descending and ``boxes`` float32 (K, 4) xyxy,
with K <= ``max_per_img`` and no padding rows.
"""
from contextlib import nullcontext
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmsolo.models.layers.traceable import flip
from mmsolo.models.test_time_augs.solo_tta import (flip_views_feats,
                                                   merge_flip_views)

INPUT_NAMES = ('image', )
OUTPUT_NAMES = ('masks', 'labels', 'scores', 'boxes')


class ExportError(ValueError):
    """A model or setting that the inference graph cannot represent."""


def check_exportable(model: nn.Module) -> None:
    """Refuse what the graph cannot hold, saying why and what to do.

    Args:
        model (nn.Module): A built SOLO model.

    Raises:
        ExportError: For deformable convolutions, mask NMS, adaptive
            pooling or a pre-processor without its usual attributes.
    """
    head = getattr(model, 'mask_head', None)
    if head is None or not hasattr(head, 'predict_image'):
        raise ExportError(f'{type(model).__name__} has no mmsolo SOLO head '
                          '(mask_head with predict_image)')
    dcn = [
        name for name, m in model.named_modules()
        if 'Deform' in type(m).__name__ or 'DCN' in type(m).__name__
    ]
    if dcn:
        raise ExportError(
            f'the model has deformable convolutions ({dcn[0]}, ...): they '
            'are mmcv custom ops that ONNX Runtime and OpenVINO do not have. '
            'Export a config without DCN (e.g. set the head\'s dcn_cfg=None '
            'and the backbone\'s dcn=None, then fine-tune), or deploy with '
            'PyTorch.')
    if head.test_cfg.get('nms_type', 'matrix') != 'matrix':
        raise ExportError(
            "test_cfg.nms_type='mask' (greedy mask NMS) is a sequential loop "
            'whose length depends on the data, which the traced graph cannot '
            "hold; export with --cfg-options model.test_cfg."
            "nms_type=matrix (Matrix NMS, what the official checkpoints "
            'were evaluated with).')
    if getattr(head, 'cls_align', 'interp') == 'adaptive_pool':
        raise ExportError(
            "cls_align='adaptive_pool' (an ablation) uses adaptive max "
            'pooling, which PyTorch cannot export to ONNX for these inputs; '
            "use a model trained with cls_align='interp' (the default) or "
            "'region_grid'.")
    pre = model.data_preprocessor
    for attr in ('pad_size_divisor', 'pad_value'):
        if not hasattr(pre, attr):
            raise ExportError(f'the data pre-processor has no {attr}')


class SOLOInferenceGraph(nn.Module):
    """Pre-processing, network and post-processing of one image.

    Args:
        model (nn.Module): A built SOLO model in eval mode, with the weights
            to export; it is shared, not copied.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        check_exportable(model)
        self.model = model
        pre = model.data_preprocessor
        # bgr_to_rgb or rgb_to_bgr: both reverse the channels
        self.flip_channels = bool(getattr(pre, '_channel_conversion', False))
        self.normalize = bool(getattr(pre, '_enable_normalize', False))
        if self.normalize:
            self.register_buffer('mean', pre.mean.view(1, -1, 1, 1).float())
            self.register_buffer('std', pre.std.view(1, -1, 1, 1).float())
        self.pad_size_divisor = int(pre.pad_size_divisor)
        self.pad_value = float(pre.pad_value)

    def preprocess(self, image: Tensor) -> Tensor:
        """What the data pre-processor does to one uint8 HWC image.

        Args:
            image (Tensor): uint8 (1, H, W, 3).

        Returns:
            Tensor: float32 (1, 3, H', W'), normalised and padded.
        """
        x = image.permute(0, 3, 1, 2)
        if self.flip_channels:
            x = flip(x, (1, ))
        x = x.float()
        if self.normalize:
            x = (x - self.mean) / self.std
        h, w = x.shape[-2:]
        d = self.pad_size_divisor
        return F.pad(
            x, (0, (d - w % d) % d, 0, (d - h % d) % d), value=self.pad_value)

    def head_outputs(self, x: Tensor) -> tuple:
        """The head's outputs, averaged over the test-time flips if any."""
        head = self.model.mask_head
        flips = tuple(head.test_cfg.get('tta_flips', ()))
        if not flips:
            return head(self.model.extract_feat(x))
        return merge_flip_views(head, flip_views_feats(self.model, x, flips),
                                flips)

    def forward(self, image: Tensor) -> Tuple[Tensor, ...]:
        """Instances of one image.

        Args:
            image (Tensor): uint8 (1, H, W, 3), as loaded and resized.

        Returns:
            tuple[Tensor]: ``masks`` uint8 (K, H, W), ``labels`` int64 (K,),
            ``scores`` float32 (K,), ``boxes`` float32 (K, 4).
        """
        img_shape = image.shape[1:3]
        head = self.model.mask_head
        # the averaged views hold every cell's mask outputs (a lazy head's
        # outputs mean something else): post-process them as such
        context = head.mask_branch.full_outputs() if head.test_cfg.get(
            'tta_flips') else nullcontext()
        with context:
            mask_outs, cls_preds = self.head_outputs(self.preprocess(image))
            cls_scores = head.flat_cls_scores(cls_preds)[0]
            masks, labels, scores, boxes = head.predict_image(
                mask_outs, cls_scores, 0, img_shape, img_shape)
        return masks.to(torch.uint8), labels, scores, boxes

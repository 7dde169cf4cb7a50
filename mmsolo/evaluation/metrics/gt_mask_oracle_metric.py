# Copyright (c) mmsolo contributors. All rights reserved.
"""COCO mask AP with the predicted masks replaced by ground truth (Table 7).
"""
from typing import Sequence

import torch
from mmdet.evaluation import CocoMetric
from mmdet.structures.mask import mask2bbox
from torch import Tensor

from mmsolo.registry import METRICS


def mask_iou(masks1: Tensor, masks2: Tensor) -> Tensor:
    """IoU of every pair of binary masks.

    Args:
        masks1 (Tensor): (N, H, W) masks.
        masks2 (Tensor): (M, H, W) masks.

    Returns:
        Tensor: (N, M) IoUs; 0 where both masks are empty.
    """
    a = masks1.flatten(1).float()
    b = masks2.flatten(1).float()
    inter = a @ b.T
    union = a.sum(1)[:, None] + b.sum(1)[None] - inter
    return inter / union.clamp(min=1)


def oracle_masks(pred_masks: Tensor, gt_masks: Tensor) -> Tensor:
    """Replace each predicted mask by the ground-truth mask of highest IoU.

    As the paper's error analysis (Table 7): only the masks change, the
    scores, labels and number of predictions stay. A ground-truth mask of
    any class may replace a prediction. Ties go to the first ground-truth
    instance of the image (annotation order); a prediction that overlaps no
    ground-truth mask (IoU 0 with all, or no ground truth in the image) keeps
    its own mask. Several predictions may take the same ground-truth mask.

    Args:
        pred_masks (Tensor): (N, H, W) predicted binary masks.
        gt_masks (Tensor): (M, H, W) ground-truth binary masks, same size.

    Returns:
        Tensor: (N, H, W) bool masks.
    """
    pred_masks = pred_masks.bool()
    if not len(pred_masks) or not len(gt_masks):
        return pred_masks
    gt_masks = gt_masks.to(pred_masks.device).bool()
    best_iou, best = mask_iou(pred_masks, gt_masks).max(1)  # first max
    return torch.where((best_iou > 0)[:, None, None], gt_masks[best],
                       pred_masks)


@METRICS.register_module()
class GTMaskOracleMetric(CocoMetric):
    """mmdet's ``CocoMetric`` on predictions whose masks are ground truth.

    Every predicted mask is replaced by :func:`oracle_masks` (the ground-truth
    mask it overlaps most, by IoU) and the boxes by the tight boxes of the
    new masks, then COCO's evaluation runs as usual. The ground truth is the
    data samples' ``gt_instances.masks``: the test pipeline must load the
    masks (``LoadAnnotations`` with ``with_mask=True``); masks loaded at the
    network input size are resized to the original image. Ignored instances
    (``ignored_instances``, COCO's crowds) never replace a prediction.

    Args:
        metric (str | list[str]): As ``CocoMetric``; defaults to ``'segm'``.
        **kwargs: Other arguments of ``CocoMetric``.
    """
    default_prefix = 'oracle'

    def __init__(self, metric='segm', **kwargs) -> None:
        super().__init__(metric=metric, **kwargs)

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Replace the masks, then ``CocoMetric.process``."""
        replaced = []
        for sample in data_samples:
            if 'gt_instances' not in sample or \
                    'masks' not in sample['gt_instances']:
                raise KeyError(
                    'GTMaskOracleMetric needs the ground-truth masks: add '
                    "dict(type='mmdet.LoadAnnotations', with_bbox=True, "
                    'with_mask=True) to the test pipeline')
            pred = dict(sample['pred_instances'])
            masks = pred['masks']
            gt = sample['gt_instances']['masks']
            if (gt.height, gt.width) != tuple(masks.shape[-2:]):
                gt = gt.resize(tuple(masks.shape[-2:]))
            gt = torch.from_numpy(gt.to_ndarray())
            pred['masks'] = oracle_masks(masks, gt)
            pred['bboxes'] = mask2bbox(pred['masks']).to(pred['scores'])
            replaced.append(dict(sample, pred_instances=pred))
        super().process(data_batch, replaced)

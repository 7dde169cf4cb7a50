# Copyright (c) mmsolo contributors. All rights reserved.
"""The paper's mask NMS (§2.4): greedy NMS with IoU computed on masks."""
from typing import Optional, Tuple

import torch
from torch import Tensor

from .matrix_nms import mask_iou_upper


def mask_nms(masks: Tensor,
             labels: Tensor,
             scores: Tensor,
             mask_area: Optional[Tensor] = None,
             nms_pre: int = -1,
             max_num: int = -1,
             iou_thr: float = 0.5,
             class_agnostic: bool = False,
             filter_thr: float = -1) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Greedy NMS on binary masks.

    A mask is dropped when its IoU with a kept, higher-scored mask (of the
    same class unless ``class_agnostic``) exceeds ``iou_thr``.

    Args:
        masks (Tensor): Binary masks, shape (N, H, W).
        labels (Tensor): Class labels, shape (N,).
        scores (Tensor): Scores, shape (N,).
        mask_area (Tensor, optional): Areas, shape (N,); computed when None.
        nms_pre (int): Keep only the best ``nms_pre`` before NMS; -1 keeps
            all.
        max_num (int): Keep at most this many after NMS; -1 keeps all.
        iou_thr (float): IoU above which a mask is suppressed.
        class_agnostic (bool): Suppress across classes too.
        filter_thr (float): Drop results scoring below it; <= 0 keeps all.

    Returns:
        tuple[Tensor]: ``(scores, labels, masks, keep_inds)`` sorted by
        score, ``keep_inds`` indexing the inputs.
    """
    assert len(labels) == len(masks) == len(scores)
    if mask_area is None:
        mask_area = masks.sum((1, 2)).float()
    scores, order = torch.sort(scores, descending=True)
    if 0 < nms_pre < len(order):
        order, scores = order[:nms_pre], scores[:nms_pre]
    if filter_thr > 0:
        valid = scores >= filter_thr
        order, scores = order[valid], scores[valid]
    if len(order) == 0:
        return (scores.new_zeros(0), labels.new_zeros(0),
                masks.new_zeros(0, *masks.shape[-2:]), labels.new_zeros(0))
    sorted_labels = labels[order]
    iou = mask_iou_upper(masks[order], mask_area[order])
    if not class_agnostic:
        iou = iou * (sorted_labels[:, None] == sorted_labels[None, :])
    suppressing = iou > iou_thr  # [i, j]: i (higher) would suppress j
    num = len(order)
    keep = torch.ones(num, dtype=torch.bool, device=scores.device)
    # Greedy pass: a mask suppresses others only if it is itself kept.
    sup_rows = suppressing.cpu()
    keep_cpu = keep.cpu()
    for i in range(num):
        if keep_cpu[i]:
            keep_cpu &= ~sup_rows[i]
    keep = keep_cpu.to(scores.device)
    keep_pos = keep.nonzero().flatten()
    if 0 < max_num < len(keep_pos):
        keep_pos = keep_pos[:max_num]
    inds = order[keep_pos]
    return scores[keep_pos], labels[inds], masks[inds], inds

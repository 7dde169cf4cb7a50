# Copyright (c) mmsolo contributors. All rights reserved.
"""Matrix NMS (SOLOv2): parallel soft suppression of masks by their IoU.

Every mask's score is decayed by the strongest overlap it has with a
higher-scored mask of the same class, compensated by how strongly that
higher-scored mask is itself suppressed. This is what the official SOLO
checkpoints were evaluated with.

It has no branch on the data, so that it traces into an ONNX graph
(``torch.jit.trace``) that also holds when there are no masks.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor


def mask_iou_upper(masks: Tensor, areas: Tensor) -> Tensor:
    """IoU of each pair (i, j) with i < j; zero on and below the diagonal.

    Args:
        masks (Tensor): Binary masks, shape (N, H, W).
        areas (Tensor): Their areas, shape (N,), float.

    Returns:
        Tensor: Shape (N, N).
    """
    flat = masks.flatten(1).float()
    inter = flat @ flat.t()
    # two empty masks: IoU 0 (not 0 / 0)
    union = (areas[:, None] + areas[None, :] - inter).clamp(min=1)
    return (inter / union).triu(diagonal=1)


def matrix_nms(
        masks: Tensor,
        labels: Tensor,
        scores: Tensor,
        mask_area: Optional[Tensor] = None,
        nms_pre: int = -1,
        max_num: int = -1,
        kernel: str = 'gaussian',
        sigma: float = 2.0,
        filter_thr: float = -1) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Matrix NMS for class-labelled binary masks.

    Args:
        masks (Tensor): Binary masks, shape (N, H, W).
        labels (Tensor): Class labels, shape (N,).
        scores (Tensor): Scores, shape (N,).
        mask_area (Tensor, optional): Areas of the masks, shape (N,);
            computed when None.
        nms_pre (int): Keep only the best ``nms_pre`` before NMS; -1 keeps
            all.
        max_num (int): Keep at most this many after NMS; -1 keeps all.
        kernel (str): ``'gaussian'`` or ``'linear'`` decay.
        sigma (float): Gaussian kernel parameter.
        filter_thr (float): Drop results whose decayed score is below it;
            -1 (or any value <= 0) keeps all.

    Returns:
        tuple[Tensor]: ``(scores, labels, masks, keep_inds)`` sorted by
        decayed score, where ``keep_inds`` index the inputs.
    """
    if kernel not in ('gaussian', 'linear'):
        raise ValueError(f"kernel must be 'gaussian' or 'linear', got "
                         f'{kernel!r}')
    if not torch.jit.is_tracing():
        assert len(labels) == len(masks) == len(scores)
    if mask_area is None:
        mask_area = masks.sum((1, 2)).float()

    scores, order = torch.sort(scores, descending=True)
    if nms_pre > 0:
        order = order[:nms_pre]
        scores = scores[:nms_pre]
    keep_inds = order
    masks, labels, mask_area = masks[order], labels[order], mask_area[order]

    iou = mask_iou_upper(masks, mask_area)
    same_label = (labels[:, None] == labels[None, :]).float().triu(diagonal=1)
    decay_iou = iou * same_label
    # Reductions over dim 0 get an extra row (zeros for the max, ones for
    # the min) that changes no result, so that they also hold for no masks:
    # IoUs are >= 0 and every coefficient is <= 1 (the top mask, row 0, is
    # never suppressed itself).
    zeros = decay_iou.new_zeros((1, decay_iou.shape[1]))
    # how much each (higher-scored) mask i is suppressed itself: row i
    compensate_iou = torch.cat([decay_iou, zeros]).max(0)[0]
    compensate_iou = compensate_iou[:, None].expand_as(decay_iou)
    if kernel == 'gaussian':
        decay = torch.exp(-1 * sigma * (decay_iou**2))
        compensate = torch.exp(-1 * sigma * (compensate_iou**2))
        ratio = decay / compensate
    else:
        # A mask that is itself a copy of a higher one (compensation 1)
        # would divide by zero: it no longer suppresses (as for any IoU
        # below 1 with it; an exact copy of it is suppressed by the higher
        # one anyway).
        ratio = (1 - decay_iou) / (1 - compensate_iou).clamp(min=1e-6)
    coefficient = torch.cat([ratio, zeros + 1]).min(0)[0]
    scores = scores * coefficient

    if filter_thr > 0:
        keep = scores >= filter_thr
        keep_inds, scores = keep_inds[keep], scores[keep]
        masks, labels = masks[keep], labels[keep]

    scores, order = torch.sort(scores, descending=True)
    if max_num > 0:
        order = order[:max_num]
        scores = scores[:max_num]
    return scores, labels[order], masks[order], keep_inds[order]

# Copyright (c) mmsolo contributors. All rights reserved.
"""SOLO's post-processing as one plain function: candidates -> masks.

:func:`solo_postprocess` turns one image's category scores and a function
that computes soft masks of chosen grid cells into instances, in four
steps (paper §2.4, with the SOLOv2 Matrix NMS the checkpoints use):

1. candidates: (cell, class) pairs scoring above ``score_thr``;
2. maskness: the mask area and mean mask probability of every candidate
   cell, computed in chunks of at most ``nms_pre`` cells, so memory is
   bounded whatever the score distribution; small masks are dropped and
   the scores multiplied by the maskness;
3. NMS over the best ``nms_pre`` candidates (Matrix NMS or mask NMS);
4. pasting: the kept masks up-sampled to the output size, thresholded,
   and their tight boxes.

The same code runs eagerly in the heads and is traced into the ONNX graph
(``mmsolo.deployment``): it has no branch on values while tracing, and its
loops over chunks have a static bound then (the number of cells), since the
number of candidates is only known at run time.
"""
from typing import Callable, List, Sequence, Tuple

import torch
from torch import Tensor

from .mask_nms import mask_nms
from .matrix_nms import matrix_nms
from .traceable import after, resize_stack, tracing

#: kept masks up-sampled to the output size at a time
PASTE_CHUNK = 16


def masks_to_boxes(masks: Tensor) -> Tensor:
    """Tight xyxy boxes of binary masks, vectorised; zeros for empty masks.

    Args:
        masks (Tensor): Bool masks, (N, H, W).

    Returns:
        Tensor: Float boxes, (N, 4), with exclusive right/bottom edges as
        mmdet's ``mask2bbox``.
    """
    h, w = masks.shape[-2:]
    rows = masks.any(2).long()  # (N, H)
    cols = masks.any(1).long()  # (N, W)
    # first and last occupied row/column, without flips or argmax (the
    # same in every runtime): the largest of index + 1 (last) and of
    # size - index (first) among the occupied ones
    y1 = (rows * torch.arange(1, h + 1, device=masks.device)).amax(1)
    y0 = h - (rows * torch.arange(h, 0, -1, device=masks.device)).amax(1)
    x1 = (cols * torch.arange(1, w + 1, device=masks.device)).amax(1)
    x0 = w - (cols * torch.arange(w, 0, -1, device=masks.device)).amax(1)
    nonempty = rows.amax(1)
    boxes = torch.stack([x0, y0, x1, y1], dim=1).float()
    return boxes * nonempty[:, None].float()


def chunk_slices(num: int, chunk: int, bound: int) -> List[slice]:
    """Slices of at most ``chunk`` items that cover ``num`` items.

    Args:
        num (int): How many items there are (a traced size when tracing).
        chunk (int): Items per slice.
        bound (int): The most items there can be: while tracing, the
            slices cover ``bound`` items (slices past the end are empty).

    Returns:
        list[slice]: The slices.
    """
    total = bound if tracing() else int(num)
    return [slice(s, s + chunk) for s in range(0, total, chunk)]


def cell_levels(cells: Tensor, num_grids: Sequence[int]) -> Tensor:
    """The level of each global cell index (levels' cells are in order)."""
    ends = torch.tensor([s * s for s in num_grids],
                        device=cells.device).cumsum(0)
    return (cells[:, None] >= ends[None, :]).sum(1)


def select_candidates(cls_scores: Tensor,
                      score_thr: float) -> Tuple[Tensor, ...]:
    """(cell, class) pairs above the threshold, and their distinct cells.

    Args:
        cls_scores (Tensor): (num_cells, num_classes) scores.
        score_thr (float): Score threshold.

    Returns:
        tuple[Tensor]: ``(cand_cells, cand_labels, cand_scores, cells,
        inverse)``: the candidates ordered by cell then class, the sorted
        distinct candidate cells, and each candidate's index into them.
    """
    above = cls_scores > score_thr
    inds = above.nonzero()
    cand_cells, cand_labels = inds[:, 0], inds[:, 1]
    cand_scores = cls_scores[cand_cells, cand_labels]
    has_cand = above.any(1)
    cells = has_cand.nonzero()[:, 0]
    inverse = (has_cand.long().cumsum(0) - 1)[cand_cells]
    return cand_cells, cand_labels, cand_scores, cells, inverse


def maskness(cells: Tensor, cell_masks: Callable[[Tensor],
                                                 Tensor], mask_thr: float,
             chunk: int, num_cells: int) -> Tuple[Tensor, Tensor]:
    """Binary-mask area and summed probability inside it, per cell.

    Args:
        cells (Tensor): Sorted global cell indices, (K,).
        cell_masks (callable): Soft masks of sorted cells, (k, h, w).
        mask_thr (float): Mask binarisation threshold.
        chunk (int): Cells whose masks are computed at a time.
        num_cells (int): The most cells there can be (all the grids').

    Returns:
        tuple[Tensor]: ``(areas, soft_sums)``, (K,) each.
    """
    areas, soft_sums = [], []
    for sl in chunk_slices(cells.shape[0], chunk, num_cells):
        chunk_cells = cells[sl]
        if areas:
            chunk_cells = after(chunk_cells, areas[-1], soft_sums[-1])
        probs = cell_masks(chunk_cells)
        binary = (probs > mask_thr).float()
        areas.append(binary.sum((1, 2)))
        soft_sums.append((probs * binary).sum((1, 2)))
    if not areas:  # eager, no cells
        empty = cells.new_zeros(0, dtype=torch.float)
        return empty, empty
    return torch.cat(areas), torch.cat(soft_sums)


def masks_in_order(cells: Tensor, cell_masks: Callable[[Tensor],
                                                       Tensor]) -> Tensor:
    """Soft masks of cells in any order (repeats allowed)."""
    sorted_cells, order = torch.sort(cells)
    return cell_masks(sorted_cells)[order.argsort()]


def solo_postprocess(cls_scores: Tensor,
                     cell_masks: Callable[[Tensor], Tensor], cfg: dict,
                     num_grids: Sequence[int], min_areas: Sequence[float],
                     pad_shape: Tuple[int, int], img_shape: Tuple[int, int],
                     out_shape: Tuple[int, int]) -> Tuple[Tensor, ...]:
    """Instances of one image from its category scores and masks.

    Args:
        cls_scores (Tensor): (num_cells, num_classes) category scores after
            point NMS, cells of all levels in order.
        cell_masks (callable): ``cell_masks(cells)`` gives the soft masks of
            sorted global cell indices (repeats allowed), (K, h, w), at the
            resolution of the first level's masks.
        cfg (dict): The head's ``test_cfg``.
        num_grids (Sequence[int]): Grid size of each level.
        min_areas (Sequence[float]): Per level, the binary-mask area (in
            mask pixels) a candidate must exceed.
        pad_shape (tuple[int]): (H, W) the masks cover: the padded input.
        img_shape (tuple[int]): (h, w) of the image inside the padded input.
        out_shape (tuple[int]): (H, W) of the output masks.

    Returns:
        tuple[Tensor]: ``(masks, labels, scores, bboxes)``: bool (N, H, W)
        at ``out_shape``, int64 (N,), float (N,) sorted descending and
        float (N, 4) xyxy boxes of the masks.
    """
    num_cells = sum(s * s for s in num_grids)
    nms_pre = cfg['nms_pre']
    chunk = nms_pre if nms_pre > 0 else 500

    # 1. candidates
    cand_cells, cand_labels, cand_scores, cells, inverse = \
        select_candidates(cls_scores, cfg['score_thr'])

    # 2. maskness, in bounded chunks; small masks dropped
    areas, soft_sums = maskness(cells, cell_masks, cfg['mask_thr'], chunk,
                                num_cells)
    levels = cell_levels(cells, num_grids)
    keep_cell = areas > cls_scores.new_tensor(min_areas)[levels]
    keep = keep_cell[inverse]
    cand_cells, cand_labels = cand_cells[keep], cand_labels[keep]
    inverse = inverse[keep]
    cand_scores = cand_scores[keep] * (soft_sums / areas.clamp(min=1))[inverse]

    # 3. NMS over the best nms_pre candidates
    cand_scores, order = torch.sort(cand_scores, descending=True)
    if nms_pre > 0:
        order, cand_scores = order[:nms_pre], cand_scores[:nms_pre]
    cand_cells, cand_labels = cand_cells[order], cand_labels[order]
    top_masks = masks_in_order(cand_cells, cell_masks) > cfg['mask_thr']
    nms_args = dict(
        mask_area=areas[inverse[order]],
        max_num=cfg['max_per_img'],
        filter_thr=cfg['filter_thr'])
    if cfg['nms_type'] == 'matrix':
        scores, labels, _, keep_inds = matrix_nms(
            top_masks,
            cand_labels,
            cand_scores,
            kernel=cfg['kernel'],
            sigma=cfg['sigma'],
            **nms_args)
    else:
        scores, labels, _, keep_inds = mask_nms(
            top_masks,
            cand_labels,
            cand_scores,
            iou_thr=cfg['iou_thr'],
            **nms_args)

    # 4. paste only the kept masks at the output size, with their boxes
    kept_cells = cand_cells[keep_inds]
    max_kept = cfg['max_per_img'] if cfg['max_per_img'] > 0 else (
        nms_pre if nms_pre > 0 else num_cells * cls_scores.shape[1])
    masks = []
    img_h, img_w = img_shape
    for sl in chunk_slices(kept_cells.shape[0], PASTE_CHUNK, max_kept):
        chunk_cells = kept_cells[sl]
        if masks:
            chunk_cells = after(chunk_cells, masks[-1])
        probs = resize_stack(
            masks_in_order(chunk_cells, cell_masks),
            size=pad_shape)[:, :img_h, :img_w]
        if tuple(img_shape) != tuple(out_shape):
            probs = resize_stack(probs, size=out_shape)
        masks.append(probs > cfg['mask_thr'])
    if masks:
        masks = torch.cat(masks)
    else:  # eager, nothing kept
        masks = torch.zeros((0, *out_shape),
                            dtype=torch.bool,
                            device=cls_scores.device)
    return masks, labels, scores, masks_to_boxes(masks)

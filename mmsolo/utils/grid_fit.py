# Copyright (c) mmsolo contributors. All rights reserved.
"""Fitting SOLO's scale ranges, grids and input scale to a dataset.

SOLO assigns an instance to the FPN levels whose ``scale_ranges`` hold its
scale, sqrt(box area) after the input resize, and to the grid cells around
its centre. On data unlike COCO the paper's values leave levels empty or
crowded, and put two instances' centres in one cell. The three steps:

1. :func:`instance_stats`: scales and centres after the config's resize;
2. :func:`propose_input_factor`: a larger input where the instances are
   too few mask pixels wide, within a cost bound (the input's pixels); the
   config's ``scale_ranges`` follow its levels' strides and are kept: the
   input scale moves the instances into them;
3. :func:`propose_num_grids`: per level the config's grid, made finer
   where too many instances share their centre cell.
"""
import math
from typing import Dict, List, Sequence, Tuple

import numpy as np


def resize_factor(h: int, w: int, scale: Sequence[int],
                  keep_ratio: bool) -> Tuple[float, float]:
    """(y, x) factors of mmcv's resize to ``scale`` = (w, h)."""
    if not keep_ratio:
        return scale[1] / h, scale[0] / w
    f = min(max(scale) / max(h, w), min(scale) / min(h, w))
    return f, f


def instance_stats(data_infos: Sequence[dict], scale: Sequence[int],
                   keep_ratio: bool) -> Dict[str, np.ndarray]:
    """Instances' scales and centres after the resize, and image sizes.

    Args:
        data_infos (Sequence[dict]): mmdet data infos (``height``,
            ``width``, ``instances`` with ``bbox`` xyxy and ``ignore_flag``).
        scale (Sequence[int]): The pipeline's resize scale (w, h).
        keep_ratio (bool): The resize keeps the aspect ratio.

    Returns:
        dict: ``scales`` (N,), ``centres`` (N, 2) as fractions of the image
        (y, x), ``image`` (N,) the image index, ``sizes`` (M, 2) resized
        (h, w) per image and ``counts`` (M,) instances per image.
    """
    scales, centres, image, sizes, counts = [], [], [], [], []
    for i, info in enumerate(data_infos):
        h, w = info['height'], info['width']
        fy, fx = resize_factor(h, w, scale, keep_ratio)
        sizes.append((h * fy, w * fx))
        n = 0
        for inst in info.get('instances', []):
            if inst.get('ignore_flag', 0):
                continue
            x0, y0, x1, y1 = inst['bbox']
            scales.append(
                math.sqrt(max(x1 - x0, 0) * fx * max(y1 - y0, 0) * fy))
            centres.append(((y0 + y1) / 2 / h, (x0 + x1) / 2 / w))
            image.append(i)
            n += 1
        counts.append(n)
    return dict(
        scales=np.asarray(scales, float),
        centres=np.asarray(centres, float).reshape(-1, 2),
        image=np.asarray(image, int),
        sizes=np.asarray(sizes, float).reshape(-1, 2),
        counts=np.asarray(counts, int))


def propose_input_factor(scales: np.ndarray,
                         mask_stride: float,
                         min_mask_px: float = 4.,
                         target_mask_px: float = 6.,
                         high: float = 48.,
                         max_factor: float = 1.,
                         min_factor: float = 1.) -> float:
    """An input scale factor from the instances' sizes, within the bounds.

    The mask-resolution term: when the median instance is narrower than
    ``min_mask_px`` pixels of the first level's masks (``mask_stride``
    input pixels each), the input grows until it spans ``target_mask_px``,
    up to ``max_factor`` (training time grows with the factor squared).
    Large instances may shrink the input instead, when ``min_factor < 1``:
    the smallest tenth is brought down to ``high`` pixels (less time per
    iteration, coarser masks).
    """
    if len(scales) == 0:
        return 1.
    median = float(np.median(scales))
    if median < min_mask_px * mask_stride:
        return max(1., min(max_factor, target_mask_px * mask_stride / median))
    p10 = float(np.percentile(scales, 10))
    if p10 > high:
        return min(1., max(min_factor, high / p10))
    return 1.


def level_members(scales: np.ndarray,
                  ranges: Sequence[Tuple[int, int]]) -> List[np.ndarray]:
    """Indices of the instances each level trains on (ranges inclusive)."""
    return [
        np.flatnonzero((scales >= lo) & (scales <= hi)) for lo, hi in ranges
    ]


def collision_rate(stats: Dict[str, np.ndarray], members: np.ndarray,
                   num_grid: int) -> float:
    """Fraction of a level's instances whose centre cell holds another
    instance's centre of the same image."""
    if len(members) == 0:
        return 0.
    cells = np.floor(stats['centres'][members] * num_grid).clip(
        0, num_grid - 1).astype(int)
    keys = (stats['image'][members] * num_grid + cells[:, 0]) * num_grid + \
        cells[:, 1]
    _, inverse, counts = np.unique(
        keys, return_inverse=True, return_counts=True)
    return float((counts[inverse] > 1).mean())


def propose_num_grids(stats: Dict[str, np.ndarray],
                      ranges: Sequence[Tuple[int, int]],
                      grids: Sequence[int],
                      max_grids: Sequence[int],
                      max_rate: float = 0.02) -> List[int]:
    """Per level, the config's grid, made finer (by 2 cells at a time)
    while more than ``max_rate`` of its instances share their centre cell,
    up to ``max_grids`` (the level's feature size); never coarser."""
    out = []
    for members, grid, cap in zip(
            level_members(stats['scales'], ranges), grids, max_grids):
        s = grid
        while s + 2 <= cap and collision_rate(stats, members, s) > max_rate:
            s += 2
        out.append(int(s))
    return out

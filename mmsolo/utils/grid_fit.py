# Copyright (c) mmsolo contributors. All rights reserved.
"""Fitting SOLO's scale ranges, grids and input scale to a dataset.

SOLO assigns an instance to the FPN levels whose ``scale_ranges`` hold its
scale, sqrt(box area) after the input resize, and to the grid cells around
its centre. On data unlike COCO the paper's values leave levels empty or
crowded, and put two instances' centres in one cell. The three steps:

1. :func:`instance_stats`: scales and centres after the config's resize;
2. :func:`propose_input_factor`, :func:`propose_scale_ranges`: an input
   scale that makes small objects big enough for the finest level, and
   ranges spaced evenly (in log scale) over the scales present, with the
   paper's overlap (adjacent ranges share a factor of 2);
3. :func:`propose_num_grids`: per level the fewest cells (fast) whose
   centre collisions stay below a rate.
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
                         min_scale: float = 12.,
                         max_factor: float = 2.) -> float:
    """Up-scale the input when a tenth of the instances are smaller than
    ``min_scale`` pixels (at most ``max_factor``); else 1."""
    if len(scales) == 0:
        return 1.
    p10 = float(np.percentile(scales, 10))
    return 1. if p10 >= min_scale else min(max_factor, min_scale / p10)


def propose_scale_ranges(scales: np.ndarray,
                         num_levels: int) -> List[Tuple[int, int]]:
    """Ranges evenly spaced in log scale over the 2nd-98th percentiles.

    Adjacent ranges overlap as the paper's do (an instance near a boundary
    trains both levels): by a factor of 2 where the levels are at least a
    factor of 2 apart, else by the levels' own ratio, so that no instance
    trains more than two levels. The first starts at 1 and the last ends at
    2048 so that no instance is left out.
    """
    lo, hi = np.percentile(scales, [2, 98]) if len(scales) else (8., 512.)
    lo, hi = max(float(lo), 1.), max(float(hi), float(lo) * 2)
    edges = np.geomspace(lo, hi, num_levels + 1)
    pad = min(math.sqrt(2), math.sqrt(edges[1] / edges[0]))
    ranges = []
    for k in range(num_levels):
        low = 1 if k == 0 else int(round(edges[k] / pad))
        high = 2048 if k == num_levels - 1 else int(round(edges[k + 1] * pad))
        ranges.append((low, high))
    return ranges


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
                      max_grids: Sequence[int],
                      max_rate: float = 0.02,
                      min_grid: int = 4) -> List[int]:
    """Per level, the fewest cells (even numbers) whose collision rate is
    at most ``max_rate``, capped by ``max_grids`` (the feature size)."""
    grids = []
    for members, cap in zip(level_members(stats['scales'], ranges), max_grids):
        chosen = cap
        for s in range(min_grid, cap + 1, 2):
            if collision_rate(stats, members, s) <= max_rate:
                chosen = s
                break
        grids.append(int(chosen))
    return grids

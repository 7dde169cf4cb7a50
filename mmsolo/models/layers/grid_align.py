# Copyright (c) mmsolo contributors. All rights reserved.
"""Category-branch alignment from H x W features to the S x S grid (§3.3)."""
import math

import torch
import torch.nn.functional as F
from torch import Tensor

GRID_ALIGN_MODES = ('interp', 'adaptive_pool', 'region_grid')


def _region_grid(feat: Tensor, num_grid: int, points: int) -> Tensor:
    """Average of ``points`` x ``points`` bilinear samples inside each cell."""
    n = feat.size(0)
    k = points
    # Normalised (align_corners=False) centres of k sub-cells per grid cell.
    steps = (torch.arange(num_grid * k, device=feat.device, dtype=feat.dtype) +
             0.5) / (
                 num_grid * k)
    coords = steps * 2 - 1
    y, x = torch.meshgrid(coords, coords, indexing='ij')
    grid = torch.stack([x, y], dim=-1).unsqueeze(0).expand(n, -1, -1, -1)
    sampled = F.grid_sample(
        feat,
        grid,
        mode='bilinear',
        padding_mode='border',
        align_corners=False)
    return F.avg_pool2d(sampled, kernel_size=k, stride=k)


def align_to_grid(feat: Tensor,
                  num_grid: int,
                  mode: str = 'interp',
                  region_points: int = 0) -> Tensor:
    """Resize a feature map to the S x S category grid.

    Args:
        feat (Tensor): Shape (N, C, H, W).
        num_grid (int): The grid size S.
        mode (str): ``'interp'`` (bilinear interpolation, the default used
            by the official models), ``'adaptive_pool'`` (2D adaptive max
            pooling) or ``'region_grid'`` (bilinear samples on a dense grid
            inside each cell, averaged).
        region_points (int): Samples per cell side for ``'region_grid'``;
            0 picks ``ceil(max(H, W) / S)`` (at least 2, at most 8), so that
            the samples cover every cell densely.

    Returns:
        Tensor: Shape (N, C, S, S).
    """
    if mode == 'interp':
        return F.interpolate(feat, size=num_grid, mode='bilinear')
    if mode == 'adaptive_pool':
        return F.adaptive_max_pool2d(feat, num_grid)
    if mode == 'region_grid':
        points = region_points or min(
            8, max(2, math.ceil(max(feat.shape[-2:]) / num_grid)))
        return _region_grid(feat, num_grid, points)
    raise ValueError(f'cls_align must be one of {GRID_ALIGN_MODES}, '
                     f'got {mode!r}')

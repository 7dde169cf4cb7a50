# Copyright (c) mmsolo contributors. All rights reserved.
"""CoordConv inputs: normalised pixel coordinates (SOLO §2.1)."""
import torch
from torch import Tensor


def make_coord_feats(feat: Tensor) -> Tensor:
    """Build the normalised x, y coordinate maps of a feature map.

    Args:
        feat (Tensor): A feature map of shape (N, C, H, W); only its shape,
            dtype and device are used.

    Returns:
        Tensor: Shape (N, 2, H, W). Channel 0 is x and channel 1 is y, both
        running linearly from -1 to 1 across the map.
    """
    n, _, h, w = feat.shape
    x_range = torch.linspace(-1, 1, w, device=feat.device, dtype=feat.dtype)
    y_range = torch.linspace(-1, 1, h, device=feat.device, dtype=feat.dtype)
    y, x = torch.meshgrid(y_range, x_range, indexing='ij')
    return torch.stack([x, y]).unsqueeze(0).expand(n, -1, -1, -1)


def concat_coords(feat: Tensor, channels: str = 'xy') -> Tensor:
    """Concatenate coordinate channels to a feature map.

    Args:
        feat (Tensor): Shape (N, C, H, W).
        channels (str): Which coordinates to append: ``'xy'``, ``'x'`` or
            ``'y'``.

    Returns:
        Tensor: Shape (N, C + len(channels), H, W).
    """
    coords = make_coord_feats(feat)
    index = {'xy': slice(0, 2), 'x': slice(0, 1), 'y': slice(1, 2)}
    if channels not in index:
        raise ValueError(f"channels must be 'xy', 'x' or 'y', got "
                         f'{channels!r}')
    return torch.cat([feat, coords[:, index[channels]]], dim=1)

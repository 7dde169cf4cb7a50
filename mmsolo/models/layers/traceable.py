# Copyright (c) mmsolo contributors. All rights reserved.
"""Tensor ops that also trace into graphs ONNX runtimes accept.

The inference path (heads, post-processing) is traced into an ONNX graph by
:mod:`mmsolo.deployment`. Tracing runs the code once on an example, whose
number of candidates may be zero, and records the ops: these helpers do in
eager mode exactly what their PyTorch counterparts do, and record ops that
hold for any size (also zero) and that OpenVINO's shape inference follows.
"""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


def tracing() -> bool:
    """Whether the code runs under ``torch.jit.trace`` (ONNX export)."""
    return torch.jit.is_tracing()


def flip(x: Tensor, dims: Sequence[int]) -> Tensor:
    """``x.flip(dims)``; traced as index gathers.

    ``torch.flip`` exports as a slice with step -1, whose bounds OpenVINO
    cannot infer when the size is dynamic; a gather of the reversed indices
    is the same and it can.
    """
    if not tracing():
        return x.flip(tuple(dims))
    for dim in dims:
        size = x.shape[dim]
        index = (size - 1) - torch.arange(size, device=x.device)
        x = x.index_select(dim, index)
    return x


def resize_stack(maps: Tensor,
                 size: Optional[Tuple[int, int]] = None,
                 scale_factor: Optional[int] = None) -> Tensor:
    """Bilinear resize of a stack of maps, also when the stack is empty.

    PyTorch refuses to resize an empty tensor, and tracing runs the example
    eagerly, which may have no candidates: while tracing, one zero map is
    resized along and dropped (a graph resizes any number of maps).

    Args:
        maps (Tensor): (K, h, w).
        size (tuple[int], optional): (H, W) of the output.
        scale_factor (int, optional): Or the factor to scale by.

    Returns:
        Tensor: (K, H, W).
    """
    if tracing():
        padded = torch.cat([maps, maps.new_zeros((1, *maps.shape[1:]))])
        return F.interpolate(
            padded[None],
            size=size,
            scale_factor=scale_factor,
            mode='bilinear')[0, :-1]
    if maps.shape[0] == 0:
        h, w = size if size is not None else (maps.shape[1] * scale_factor,
                                              maps.shape[2] * scale_factor)
        return maps.new_zeros((0, h, w))
    return F.interpolate(
        maps[None], size=size, scale_factor=scale_factor, mode='bilinear')[0]

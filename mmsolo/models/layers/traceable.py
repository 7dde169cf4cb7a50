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


def after(index: Tensor, *previous: Tensor) -> Tensor:
    """``index``, made to depend on ``previous`` in a traced graph.

    The chunks of a traced loop are independent sub-graphs, which a runtime
    may run side by side, holding every chunk's masks at once. Making each
    chunk's cell indices depend on the previous chunk's (small) result runs
    them one after another, so that one chunk's masks exist at a time.
    Every result of the previous chunk must be named: a runtime may put off
    work that nothing waits for, and keep its inputs until then.

    Args:
        index (Tensor): Integer indices that start a chunk's work.
        *previous (Tensor): The finite results of the previous chunk.

    Returns:
        Tensor: ``index`` (plus a zero computed from ``previous``).
    """
    if not tracing():
        return index
    zero = sum(p.sum() for p in previous) * 0
    return index + zero.to(index.dtype)

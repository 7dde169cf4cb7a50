# Copyright (c) mmsolo contributors. All rights reserved.
"""Vanilla SOLO head: one mask channel per grid cell (paper §2.1-2.2)."""
from contextlib import contextmanager
from typing import Iterator, List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.utils import MultiConfig
from torch import Tensor

from mmsolo.registry import MODELS
from ..layers.traceable import flip, resize_stack
from .base_solo_head import FLIP_DIMS, BaseSOLOHead, solo_init_cfg


@MODELS.register_module()
class SOLOHead(BaseSOLOHead):
    """The vanilla SOLO head.

    The mask branch predicts S^2 channels per level with a final 1x1 conv
    (``conv_mask_list``), channel ``k = i * S + j`` segmenting the instance
    centred in cell (i, j). With ``lazy_mask_conv=True`` (the default) the
    head keeps the tower's output and evaluates the 1x1 conv only for the
    channels that are used -- positive cells in training, candidate cells at
    test time -- which gives the same result at a fraction of the cost and
    memory; ``False`` materialises all S^2 channels like the reference
    implementations.

    Args:
        lazy_mask_conv (bool): Evaluate the final mask conv only for the
            channels that are used.
        init_cfg (dict or list[dict]): Initialisation config.
        **kwargs: See :class:`BaseSOLOHead`.
    """

    def __init__(self,
                 *args,
                 lazy_mask_conv: bool = True,
                 init_cfg: MultiConfig = solo_init_cfg('conv_mask_list'),
                 **kwargs) -> None:
        self.lazy_mask_conv = lazy_mask_conv
        super().__init__(*args, init_cfg=init_cfg, **kwargs)

    def _init_mask_layers(self) -> None:
        self.mask_convs = self.build_tower(coord_channels=2)
        self.conv_mask_list = nn.ModuleList(
            nn.Conv2d(self.feat_channels, num_grid**2, 1)
            for num_grid in self.num_grids)

    def forward_mask_towers(self, feat: Tensor) -> Tuple[Tensor]:
        return (self.run_mask_tower(self.mask_convs, feat, 'xy'), )

    def forward_mask_outputs(self, tower_outs: Tuple[Tensor],
                             level: int) -> Tuple[Tensor]:
        """Mask outputs of one level.

        Returns:
            tuple[Tensor]: ``(mask_feat,)`` of shape (N, C, 2H, 2W) when
            lazy, else ``(mask_logits,)`` of shape (N, S^2, 2H, 2W).
        """
        if self.lazy_mask_conv:
            return tower_outs
        return (self.conv_mask_list[level](tower_outs[0]), )

    @contextmanager
    def full_mask_outputs(self) -> Iterator[None]:
        lazy = self.lazy_mask_conv
        self.lazy_mask_conv = False
        try:
            yield
        finally:
            self.lazy_mask_conv = lazy

    def flip_mask_outs(self, outs: Tuple[Tensor], level: int,
                       direction: str) -> Tuple[Tensor]:
        # channel i * S + j is the mask of cell (i, j)
        logits, = outs
        n, _, h, w = logits.shape
        num_grid = self.num_grids[level]
        dims = FLIP_DIMS[direction]
        grid_dims = tuple(d - 2 for d in dims)  # the (i, j) axes of the view
        logits = logits.reshape(n, num_grid, num_grid, h, w)
        logits = flip(logits, grid_dims + dims)
        return (logits.reshape(n, num_grid * num_grid, h, w), )

    def mask_logits(self, outs: Tuple[Tensor], level: int, img_inds: Tensor,
                    cells: Tensor) -> Tensor:
        """Mask logits of (image, cell) pairs at the level's resolution.

        Args:
            outs (tuple[Tensor]): The level's outputs.
            level (int): Level index.
            img_inds (Tensor): Image index of each pair, (K,).
            cells (Tensor): Level-local cell index of each pair, (K,).

        Returns:
            Tensor: (K, h, w) logits at the masks' resolution.
        """
        if not self.lazy_mask_conv:
            return self.upsample_logits(outs[0][img_inds, cells])
        mask_feat = outs[0]
        conv = self.conv_mask_list[level]
        if len(cells) == 0:
            return mask_feat.new_empty((0, *self.mask_feat_size(outs)))
        parts: List[Tensor] = []
        order: List[Tensor] = []
        for img in img_inds.unique().tolist():
            sel = (img_inds == img).nonzero().flatten()
            chosen = cells[sel]
            parts.append(
                F.conv2d(mask_feat[img:img + 1], conv.weight[chosen],
                         conv.bias[chosen])[0])
            order.append(sel)
        # cat: one contiguous (K, h, w) block whatever the memory format
        return self.upsample_logits(
            torch.cat(parts)[torch.cat(order).argsort()])

    def mask_preds_for_loss(self, outs: Tuple[Tensor], level: int,
                            img_inds: Tensor, cells: Tensor) -> Tensor:
        return self.mask_logits(outs, level, img_inds, cells)

    def mask_probs(self, prepared: Tuple[Tensor], level: int, cells: Tensor,
                   out_size: Tuple[int, int]) -> Tensor:
        feat, = prepared  # lazy: (C, h, w) features, else (S^2, h, w) logits
        if self.lazy_mask_conv:
            # the 1x1 conv of the chosen channels, as one matrix product
            h, w = feat.shape[-2:]
            conv = self.conv_mask_list[level]
            logits = conv.weight[cells].flatten(1) @ feat.flatten(1) + \
                conv.bias[cells, None]
            logits = logits.reshape(-1, h, w)
        else:
            logits = feat[cells]
        probs = self.upsample_logits(logits).sigmoid()
        if tuple(probs.shape[-2:]) != tuple(out_size):
            probs = resize_stack(probs, size=out_size)
        return probs

    def graph_anchor(self, mlvl_mask_outs: List[Tuple[Tensor]]) -> Tensor:
        anchor = super().graph_anchor(mlvl_mask_outs)
        if self.lazy_mask_conv:
            anchor = anchor + sum(
                p.sum() for p in self.conv_mask_list.parameters()) * 0.
        return anchor

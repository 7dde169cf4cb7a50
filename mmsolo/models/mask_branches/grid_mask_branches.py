# Copyright (c) mmsolo contributors. All rights reserved.
"""SOLO's mask branches: a mask tower, then mask outputs per grid cell.

- :class:`VanillaMaskBranch` (paper §2.2): S^2 channels per level, channel
  ``i * S + j`` the mask of cell (i, j);
- :class:`DecoupledMaskBranch` (§4): X and Y towers and outputs, the mask
  of cell (i, j) is ``sigmoid(x_j) * sigmoid(y_i)``;
- :class:`LightMaskBranch`: the authors' Decoupled-Light, one shared tower
  for the X and Y outputs.
"""
from abc import abstractmethod
from contextlib import contextmanager
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.utils import ConfigType, OptConfigType
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from ..layers import concat_coords
from ..layers.traceable import flip
from .base_mask_branch import (FLIP_DIMS, BaseMaskBranch, build_tower,
                               cells_to_rows_cols, empty_masks, tower_levels)


class TowerMaskBranch(BaseMaskBranch):
    """A mask branch of CoordConv towers shared by the levels.

    Args:
        num_grids (Sequence[int]): Grid size S of each level.
        in_channels (int): Channels of the input features.
        feat_channels (int): Channels of the tower convs.
        stacked_convs (int): Convs in each tower.
        num_coord_convs (int): Tower convs that receive the coordinates.
        norm_cfg (dict): Normalisation of the tower convs.
        mask_upsample (int): See :class:`BaseMaskBranch`.
        tower_upsample (bool): Up-sample the towers' features by 2 before
            the output convs (the paper); False runs the output convs at
            the level's resolution and up-samples only chosen cells'
            logits, by ``mask_upsample``: the output convs cost a quarter.
        with_cp (bool): Recompute the towers in the backward pass.
        conv_cfg (callable, optional): Conv config of the ``i``-th tower
            conv.
    """

    def __init__(self,
                 num_grids: Sequence[int],
                 in_channels: int,
                 feat_channels: int,
                 stacked_convs: int,
                 num_coord_convs: int,
                 norm_cfg: ConfigType,
                 mask_upsample: int = 2,
                 tower_upsample: bool = True,
                 with_cp: bool = False,
                 conv_cfg: Optional[Callable[[int], OptConfigType]] = None):
        self.tower_upsample = tower_upsample
        self.in_channels = in_channels
        self.feat_channels = feat_channels
        self.stacked_convs = stacked_convs
        self.num_coord_convs = num_coord_convs
        self.norm_cfg = norm_cfg
        self.with_cp = with_cp
        self.conv_cfg = conv_cfg
        super().__init__(
            num_grids, mask_upsample, out_upsample=2 if tower_upsample else 1)

    def build_tower(self, coord_channels: int) -> nn.ModuleList:
        """A mask tower whose first convs receive ``coord_channels``."""
        return build_tower(self.in_channels, self.feat_channels,
                           self.stacked_convs, self.norm_cfg, coord_channels,
                           self.num_coord_convs, self.conv_cfg)

    def run_tower(self, tower: nn.ModuleList, feat: Tensor,
                  coords: str) -> Tensor:
        """Run a tower with CoordConv inputs, then up-sample by 2 (unless
        ``tower_upsample`` is False).

        Args:
            tower (nn.ModuleList): The convs.
            feat (Tensor): Level features, (N, C, H, W).
            coords (str): Coordinates to append (``'xy'``, ``'x'``, ``'y'``).

        Returns:
            Tensor: (N, feat_channels, 2H, 2W), or (H, W).
        """

        def run(feat: Tensor) -> Tensor:
            for i, conv in enumerate(tower):
                if i < self.num_coord_convs:
                    feat = concat_coords(feat, coords)
                feat = conv(feat)
            return feat

        if self.with_cp and self.training and torch.is_grad_enabled():
            feat = checkpoint(run, feat, use_reentrant=False)
        else:
            feat = run(feat)
        if not self.tower_upsample:
            return feat
        return F.interpolate(feat, scale_factor=2, mode='bilinear')

    @abstractmethod
    def forward_towers(self, feat: Tensor) -> Tuple[Tensor]:
        """Tower outputs (see :meth:`run_tower`) of one level's features."""

    @abstractmethod
    def forward_level(self, tower_outs: Tuple[Tensor],
                      level: int) -> Tuple[Tensor]:
        """A level's mask outputs from its tower outputs."""

    def forward(self, feats: List[Tensor],
                neck_feats: Sequence[Tensor]) -> List[Tuple[Tensor]]:
        towers = tower_levels(feats, self.forward_towers)
        return [
            self.forward_level(outs, level)
            for level, outs in enumerate(towers)
        ]


class VanillaMaskBranch(TowerMaskBranch):
    """The vanilla branch: ``conv_mask_list`` (1x1, S^2 outputs) per level.

    With ``lazy_mask_conv=True`` its outputs are the tower's features and
    the 1x1 conv is evaluated only for the chosen cells (positives in
    training, candidates at test time): the same result at a fraction of
    the cost; ``False`` materialises all S^2 channels like the reference.

    Args:
        lazy_mask_conv (bool): Evaluate the 1x1 conv for chosen cells only.
        **kwargs: See :class:`TowerMaskBranch`.
    """

    def __init__(self, *args, lazy_mask_conv: bool = True, **kwargs):
        self.lazy_mask_conv = lazy_mask_conv
        super().__init__(*args, **kwargs)

    def _init_layers(self) -> None:
        self.mask_convs = self.build_tower(coord_channels=2)
        self.conv_mask_list = nn.ModuleList(
            nn.Conv2d(self.feat_channels, num_grid**2, 1)
            for num_grid in self.num_grids)

    def forward_towers(self, feat: Tensor) -> Tuple[Tensor]:
        return (self.run_tower(self.mask_convs, feat, 'xy'), )

    def forward_level(self, tower_outs: Tuple[Tensor],
                      level: int) -> Tuple[Tensor]:
        """``(mask_feat,)`` (N, C, 2H, 2W) when lazy, else the logits
        ``(mask_logits,)`` (N, S^2, 2H, 2W)."""
        if self.lazy_mask_conv:
            return tower_outs
        return (self.conv_mask_list[level](tower_outs[0]), )

    @contextmanager
    def full_outputs(self) -> Iterator[None]:
        lazy = self.lazy_mask_conv
        self.lazy_mask_conv = False
        try:
            yield
        finally:
            self.lazy_mask_conv = lazy

    def flip(self, outs: Tuple[Tensor], level: int,
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

    def preds_for_loss(self, outs: Tuple[Tensor], level: int, img_inds: Tensor,
                       cells: Tensor) -> Tensor:
        """Mask logits of (image, cell) pairs at the masks' resolution."""
        if not self.lazy_mask_conv:
            return self.upsample_logits(outs[0][img_inds, cells])
        mask_feat = outs[0]
        conv = self.conv_mask_list[level]
        if len(cells) == 0:
            return empty_masks(mask_feat, self.mask_feat_size(outs))
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

    def mask_probs(self, prepared: tuple, level: int, cells: Tensor,
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
        return self.to_out_size(
            self.upsample_logits(logits).sigmoid(), out_size)


class DecoupledMaskBranch(TowerMaskBranch):
    """Separate X and Y towers (one coordinate each) and outputs.

    Its outputs per level are the X and Y logits, (N, S, 2H, 2W) each; the
    mask of cell (i, j) is ``sigmoid(x_j) * sigmoid(y_i)``, so the mask
    loss must be built with ``activate=False``.
    """

    def _init_output_convs(self, kernel_size: int = 3) -> None:
        pad = kernel_size // 2
        self.conv_mask_list_x = nn.ModuleList(
            nn.Conv2d(self.feat_channels, s, kernel_size, padding=pad)
            for s in self.num_grids)
        self.conv_mask_list_y = nn.ModuleList(
            nn.Conv2d(self.feat_channels, s, kernel_size, padding=pad)
            for s in self.num_grids)

    def _init_layers(self) -> None:
        self.mask_convs_x = self.build_tower(coord_channels=1)
        self.mask_convs_y = self.build_tower(coord_channels=1)
        self._init_output_convs()

    def forward_towers(self, feat: Tensor) -> Tuple[Tensor]:
        return (self.run_tower(self.mask_convs_x, feat, 'x'),
                self.run_tower(self.mask_convs_y, feat, 'y'))

    def forward_level(self, tower_outs: Tuple[Tensor],
                      level: int) -> Tuple[Tensor]:
        """X and Y mask logits of one level, (N, S, 2H, 2W) each."""
        feat_x, feat_y = tower_outs
        return (self.conv_mask_list_x[level](feat_x),
                self.conv_mask_list_y[level](feat_y))

    def flip(self, outs: Tuple[Tensor], level: int,
             direction: str) -> Tuple[Tensor]:
        # X channel j: column j; Y channel i: row i
        pred_x, pred_y = outs
        dims = FLIP_DIMS[direction]
        x_dims = (1, ) if -1 in dims else ()
        y_dims = (1, ) if -2 in dims else ()
        return flip(pred_x, x_dims + dims), flip(pred_y, y_dims + dims)

    def preds_for_loss(self, outs: Tuple[Tensor], level: int, img_inds: Tensor,
                       cells: Tensor) -> Tensor:
        rows, cols = cells_to_rows_cols(cells, self.num_grids[level])
        pred_x, pred_y = outs
        return self.upsample_logits(pred_y[img_inds, rows]).sigmoid() * \
            self.upsample_logits(pred_x[img_inds, cols]).sigmoid()

    def prepare_predict(self, mlvl_outs: List[Tuple[Tensor]], img_ind: int,
                        out_size: Tuple[int, int]) -> List[tuple]:
        """Sigmoid X and Y maps of one image, at the first level's size.

        Only ``sum(num_grids)`` maps per branch, whatever the number of
        candidates: every cell's mask is then one product of two of them.
        """
        return [
            tuple(
                # NCHW: each mask below reads one channel of these maps
                self.to_out_size(
                    self.upsample_logits(
                        logits[img_ind].contiguous()).sigmoid(), out_size)
                for logits in outs) for outs in mlvl_outs
        ]

    def mask_probs(self, prepared: tuple, level: int, cells: Tensor,
                   out_size: Tuple[int, int]) -> Tensor:
        rows, cols = cells_to_rows_cols(cells, self.num_grids[level])
        probs_x, probs_y = prepared
        return probs_x[cols] * probs_y[rows]


class LightMaskBranch(DecoupledMaskBranch):
    """The authors' Decoupled-Light branch: one tower (both coordinates)
    read by the X and the Y outputs."""

    def _init_layers(self) -> None:
        self.mask_convs = self.build_tower(coord_channels=2)
        self._init_output_convs()

    def forward_towers(self, feat: Tensor) -> Tuple[Tensor]:
        mask_feat = self.run_tower(self.mask_convs, feat, 'xy')
        return mask_feat, mask_feat

# Copyright (c) mmsolo contributors. All rights reserved.
"""SOLOv2's mask branch: dynamic kernels convolved with unified features.

A kernel tower predicts, for every grid cell, the weights of a
``dynamic_conv_size`` x ``dynamic_conv_size`` conv (CoordConv input, the
features resized to the S x S grid); a mask-feature module fuses the FPN
levels into one map at stride ``mask_stride`` (coordinates added at the
coarsest level). The mask of a cell is its kernel applied to the image's
mask features -- computed only for chosen cells.
"""
from typing import Callable, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.models.dense_heads.solov2_head import MaskFeatModule
from mmdet.utils import ConfigType, OptConfigType
from torch import Tensor

from ..layers import concat_coords
from ..layers.traceable import flip, tracing
from .base_mask_branch import (FLIP_DIMS, BaseMaskBranch, build_tower,
                               empty_masks)


class DynamicMaskBranch(BaseMaskBranch):
    """SOLOv2's kernel branch and mask-feature branch.

    Outputs per level: ``(kernels, mask_feats)``, the kernels of every cell
    (N, E * k * k, S, S) and the image's mask features (N, E, h, w), the
    same tensor for every level.

    Args:
        num_grids (Sequence[int]): Grid size S of each level.
        in_channels (int): Channels of the input features.
        feat_channels (int): Channels of the kernel tower.
        stacked_convs (int): Convs of the kernel tower.
        norm_cfg (dict): Normalisation of the kernel tower.
        mask_feature_head (dict): Config of mmdet's ``MaskFeatModule``
            (``feat_channels``, ``start_level``, ``end_level``,
            ``out_channels``, ``mask_stride``, ``norm_cfg``), which reads
            the neck outputs ``start_level`` to ``end_level`` (each
            ``2 ** i`` times coarser than the first).
        dynamic_conv_size (int): Kernel size k of the dynamic conv.
        mask_upsample (int): See :class:`BaseMaskBranch`.
        conv_cfg (callable, optional): Conv config of the ``i``-th conv of
            the kernel tower.
    """

    def __init__(self,
                 num_grids: Sequence[int],
                 in_channels: int,
                 feat_channels: int,
                 stacked_convs: int,
                 norm_cfg: ConfigType,
                 mask_feature_head: ConfigType,
                 dynamic_conv_size: int = 1,
                 mask_upsample: int = 2,
                 conv_cfg: Optional[Callable[[int], OptConfigType]] = None):
        self.in_channels = in_channels
        self.feat_channels = feat_channels
        self.stacked_convs = stacked_convs
        self.norm_cfg = norm_cfg
        self.mask_feature_cfg = dict(
            mask_feature_head, in_channels=in_channels)
        self.mask_channels = self.mask_feature_cfg['out_channels']
        self.dynamic_conv_size = dynamic_conv_size
        self.conv_cfg = conv_cfg
        super().__init__(num_grids, mask_upsample)
        self.mask_stride = self.mask_feature_head.mask_stride

    def _init_layers(self) -> None:
        self.kernel_convs = build_tower(
            self.in_channels,
            self.feat_channels,
            self.stacked_convs,
            self.norm_cfg,
            extra_channels=2,
            conv_cfg=self.conv_cfg)
        self.conv_kernel = nn.Conv2d(
            self.feat_channels,
            self.mask_channels * self.dynamic_conv_size**2,
            3,
            padding=1)
        self.mask_feature_head = MaskFeatModule(**self.mask_feature_cfg)

    def forward(self, feats: List[Tensor],
                neck_feats: Sequence[Tensor]) -> List[Tuple[Tensor]]:
        mask_feats = self.mask_feature_head(neck_feats)
        outs = []
        for feat, num_grid in zip(feats, self.num_grids):
            # coordinates of the level's map, then resized to the grid
            kernel_feat = F.interpolate(
                concat_coords(feat, 'xy'),
                size=num_grid,
                mode='bilinear',
                align_corners=False)
            for conv in self.kernel_convs:
                kernel_feat = conv(kernel_feat)
            outs.append((self.conv_kernel(kernel_feat), mask_feats))
        return outs

    def _kernel_view(self, kernels: Tensor) -> Tensor:
        """(K, E * k * k) kernels as conv weights (K, E, k, k)."""
        k = self.dynamic_conv_size
        return kernels.reshape(kernels.shape[0], -1, k, k)

    def apply_kernels(self, kernels: Tensor, mask_feats: Tensor) -> Tensor:
        """Mask logits of K kernels on one image's features.

        Args:
            kernels (Tensor): (K, E * k * k).
            mask_feats (Tensor): (E, h, w).

        Returns:
            Tensor: (K, h', w') logits, up-sampled by ``mask_upsample / 2``.
        """
        e, h, w = mask_feats.shape
        if self.dynamic_conv_size == 1 and mask_feats.stride(0) == 1 and \
                not tracing():
            # channels-last features: (h * w, E) rows, no copy of them
            logits = (mask_feats.permute(1, 2, 0).reshape(h * w, e)
                      @ kernels.t()).t().reshape(-1, h, w)
        elif self.dynamic_conv_size == 1:
            logits = (kernels @ mask_feats.reshape(e, h * w)).reshape(-1, h, w)
        else:
            logits = F.conv2d(
                mask_feats[None],
                self._kernel_view(kernels),
                padding=self.dynamic_conv_size // 2)[0]
        return self.upsample_logits(logits)

    def preds_for_loss(self, outs: Tuple[Tensor], level: int, img_inds: Tensor,
                       cells: Tensor) -> Tensor:
        """Mask logits of (image, cell) pairs."""
        kernels, mask_feats = outs
        if len(cells) == 0:
            return empty_masks(mask_feats, self.mask_feat_size(outs))
        flat = kernels.flatten(2)  # (N, E * k * k, S * S)
        parts, order = [], []
        for img in img_inds.unique().tolist():
            sel = (img_inds == img).nonzero().flatten()
            parts.append(
                self.apply_kernels(flat[img][:, cells[sel]].t(),
                                   mask_feats[img]))
            order.append(sel)
        return torch.cat(parts)[torch.cat(order).argsort()]

    def prepare_predict(self, mlvl_outs: List[Tuple[Tensor]], img_ind: int,
                        out_size: Tuple[int, int]) -> List[tuple]:
        """Per level, the image's kernels (S * S, E * k * k) and features
        (in their memory format: see :meth:`apply_kernels`)."""
        mask_feats = mlvl_outs[0][1][img_ind]
        if mask_feats.stride(0) != 1 or tracing():
            mask_feats = mask_feats.contiguous()
        return [(kernels[img_ind].flatten(1).t(), mask_feats)
                for kernels, _ in mlvl_outs]

    def cell_probs(self, prepared: List[tuple], level_cells: List[Tensor],
                   out_size: Tuple[int, int]) -> Tensor:
        """All levels' kernels applied at once: the levels share the mask
        features, which are then read once (the product is memory-bound).
        """
        if tracing():
            return super().cell_probs(prepared, level_cells, out_size)
        kernels = torch.cat([
            prepared[level][0][cells]
            for level, cells in enumerate(level_cells)
        ])
        return self.to_out_size(
            self.apply_kernels(kernels, prepared[0][1]).sigmoid(), out_size)

    def mask_probs(self, prepared: tuple, level: int, cells: Tensor,
                   out_size: Tuple[int, int]) -> Tensor:
        kernels, mask_feats = prepared
        return self.to_out_size(
            self.apply_kernels(kernels[cells], mask_feats).sigmoid(), out_size)

    def mask_feat_size(self, outs: Tuple[Tensor]) -> Tuple[int, int]:
        return self.upsampled_size(outs[1])  # the mask features

    def flip(self, outs: Tuple[Tensor], level: int,
             direction: str) -> Tuple[Tensor]:
        """Kernels of mirrored cells exchanged (and mirrored when k > 1),
        the mask features flipped back: the same masks, flipped back."""
        kernels, mask_feats = outs
        dims = FLIP_DIMS[direction]
        n, _, s, _ = kernels.shape
        k = self.dynamic_conv_size
        kernels = kernels.reshape(n, -1, k, k, s, s)
        # (k, k) kernel axes are -4/-3, the grid's -2/-1
        kernels = flip(kernels, tuple(d - 2 for d in dims) + dims)
        return kernels.reshape(n, -1, s, s), flip(mask_feats, dims)

    def merge_views(self,
                    views: List[List[Tuple[Tensor]]]) -> List[Tuple[Tensor]]:
        """Kernels and features of the views side by side.

        A dynamic conv is linear in the features, so the mean of the views'
        mask logits is one conv of the concatenated features with the
        concatenated kernels divided by the number of views: the merged
        outputs stay lazy (only chosen cells are ever evaluated).
        """
        num = len(views)
        k2 = self.dynamic_conv_size**2
        feats = torch.cat([view[0][1] for view in views], 1)
        merged = []
        for level_outs in zip(*views):
            kernels = [outs[0] for outs in level_outs]
            n, _, s, _ = kernels[0].shape
            kernels = torch.cat([t.reshape(n, -1, k2, s, s) for t in kernels],
                                1)
            merged.append((kernels.reshape(n, -1, s, s) / num, feats))
        return merged

# Copyright (c) mmsolo contributors. All rights reserved.
"""Decoupled SOLO heads (paper §4): mask (i, j) = sigmoid(x_j) * sigmoid(y_i).

``DecoupledSOLOHead`` has separate X and Y towers, each given one
coordinate; ``DecoupledSOLOLightHead`` (the authors' light model) shares one
tower, given both coordinates, between the X and Y outputs and can use a
deformable conv as the last conv of its towers.
"""
from typing import List, Tuple

import torch.nn as nn
from mmdet.utils import MultiConfig, OptConfigType
from torch import Tensor

from mmsolo.registry import MODELS
from ..layers.traceable import flip, resize_stack
from .base_solo_head import FLIP_DIMS, BaseSOLOHead, solo_init_cfg

DECOUPLED_INIT_CFG = solo_init_cfg('conv_mask_list_x', 'conv_mask_list_y')


@MODELS.register_module()
class DecoupledSOLOHead(BaseSOLOHead):
    """Decoupled SOLO head with separate X and Y mask towers.

    Its mask outputs per level are the X and Y logits, (N, S, 2H, 2W) each;
    the mask of cell (i, j) is ``sigmoid(x_j) * sigmoid(y_i)``, so the mask
    loss must be built with ``activate=False``.

    Args:
        init_cfg (dict or list[dict]): Initialisation config.
        **kwargs: See :class:`BaseSOLOHead`.
    """

    def __init__(self,
                 *args,
                 init_cfg: MultiConfig = DECOUPLED_INIT_CFG,
                 **kwargs) -> None:
        super().__init__(*args, init_cfg=init_cfg, **kwargs)

    def _init_output_convs(self, kernel_size: int) -> None:
        pad = kernel_size // 2
        self.conv_mask_list_x = nn.ModuleList(
            nn.Conv2d(self.feat_channels, s, kernel_size, padding=pad)
            for s in self.num_grids)
        self.conv_mask_list_y = nn.ModuleList(
            nn.Conv2d(self.feat_channels, s, kernel_size, padding=pad)
            for s in self.num_grids)

    def _init_mask_layers(self) -> None:
        self.mask_convs_x = self.build_tower(coord_channels=1)
        self.mask_convs_y = self.build_tower(coord_channels=1)
        self._init_output_convs(3)

    def forward_mask_towers(self, feat: Tensor) -> Tuple[Tensor]:
        return (self.run_mask_tower(self.mask_convs_x, feat, 'x'),
                self.run_mask_tower(self.mask_convs_y, feat, 'y'))

    def forward_mask_outputs(self, tower_outs: Tuple[Tensor],
                             level: int) -> Tuple[Tensor]:
        """X and Y mask logits of one level, (N, S, 2H, 2W) each."""
        feat_x, feat_y = tower_outs
        return (self.conv_mask_list_x[level](feat_x),
                self.conv_mask_list_y[level](feat_y))

    def flip_mask_outs(self, outs: Tuple[Tensor], level: int,
                       direction: str) -> Tuple[Tensor]:
        # X channel j: column j; Y channel i: row i
        pred_x, pred_y = outs
        dims = FLIP_DIMS[direction]
        x_dims = (1, ) if -1 in dims else ()
        y_dims = (1, ) if -2 in dims else ()
        return flip(pred_x, x_dims + dims), flip(pred_y, y_dims + dims)

    def _rows_cols(self, cells: Tensor, level: int) -> Tuple[Tensor, Tensor]:
        num_grid = self.num_grids[level]
        return cells // num_grid, cells % num_grid

    def mask_preds_for_loss(self, outs: Tuple[Tensor], level: int,
                            img_inds: Tensor, cells: Tensor) -> Tensor:
        rows, cols = self._rows_cols(cells, level)
        pred_x, pred_y = outs
        return self.upsample_logits(pred_y[img_inds, rows]).sigmoid() * \
            self.upsample_logits(pred_x[img_inds, cols]).sigmoid()

    def prepare_predict(self, mlvl_mask_outs: List[Tuple[Tensor]],
                        img_ind: int, out_size: Tuple[int,
                                                      int]) -> List[tuple]:
        """Sigmoid X and Y maps of one image, at the first level's size.

        Only ``sum(num_grids)`` maps per branch, whatever the number of
        candidates: every cell's mask is then one product of two of them.
        """
        prepared = []
        for outs in mlvl_mask_outs:
            probs = []
            for logits in outs:
                # NCHW: each mask below reads one channel of these maps
                prob = self.upsample_logits(
                    logits[img_ind].contiguous()).sigmoid()
                if tuple(prob.shape[-2:]) != tuple(out_size):
                    prob = resize_stack(prob, size=out_size)
                probs.append(prob)
            prepared.append(tuple(probs))
        return prepared

    def mask_probs(self, prepared: Tuple[Tensor], level: int, cells: Tensor,
                   out_size: Tuple[int, int]) -> Tensor:
        rows, cols = self._rows_cols(cells, level)
        probs_x, probs_y = prepared
        return probs_x[cols] * probs_y[rows]


@MODELS.register_module()
class DecoupledSOLOLightHead(DecoupledSOLOHead):
    """The authors' Decoupled-Light head: one shared mask tower.

    Args:
        dcn_cfg (dict, optional): Conv config (e.g. ``dict(type='DCNv2')``)
            of the last conv of both towers; None uses plain convs.
        init_cfg (dict or list[dict]): Initialisation config.
        **kwargs: See :class:`BaseSOLOHead`.
    """

    def __init__(self,
                 *args,
                 dcn_cfg: OptConfigType = None,
                 init_cfg: MultiConfig = DECOUPLED_INIT_CFG,
                 **kwargs) -> None:
        if dcn_cfg is not None and not isinstance(dcn_cfg, dict):
            raise TypeError(f'dcn_cfg must be a dict or None, got {dcn_cfg!r}')
        self.dcn_cfg = dcn_cfg
        super().__init__(*args, init_cfg=init_cfg, **kwargs)

    def tower_conv_cfg(self, index: int) -> OptConfigType:
        if self.dcn_cfg is not None and index == self.stacked_convs - 1:
            return self.dcn_cfg
        return None

    def _init_mask_layers(self) -> None:
        self.mask_convs = self.build_tower(coord_channels=2)
        self._init_output_convs(3)

    def forward_mask_towers(self, feat: Tensor) -> Tuple[Tensor]:
        """One tower's output, read by both the X and the Y outputs."""
        mask_feat = self.run_mask_tower(self.mask_convs, feat, 'xy')
        return mask_feat, mask_feat

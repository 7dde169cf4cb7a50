# Copyright (c) mmsolo contributors. All rights reserved.
"""Decoupled SOLO heads (paper §4): mask (i, j) = sigmoid(x_j) * sigmoid(y_i).

``DecoupledSOLOHead`` has separate X and Y towers, each given one
coordinate (:class:`DecoupledMaskBranch`); ``DecoupledSOLOLightHead`` (the
authors' light model, :class:`LightMaskBranch`) shares one tower, given
both coordinates, between the X and Y outputs and can use a deformable conv
as the last conv of its towers.
"""
from mmdet.utils import MultiConfig, OptConfigType

from mmsolo.registry import MODELS
from ..mask_branches import (BaseMaskBranch, DecoupledMaskBranch,
                             LightMaskBranch)
from .base_solo_head import solo_init_cfg
from .solo_head import TowerSOLOHead

DECOUPLED_INIT_CFG = solo_init_cfg('conv_mask_list_x', 'conv_mask_list_y')


@MODELS.register_module()
class DecoupledSOLOHead(TowerSOLOHead):
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

    def build_mask_branch(self) -> BaseMaskBranch:
        return DecoupledMaskBranch(**self.branch_args())


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

    def build_mask_branch(self) -> BaseMaskBranch:
        return LightMaskBranch(**self.branch_args())

# Copyright (c) mmsolo contributors. All rights reserved.
"""SOLOv2 head (Wang et al., NeurIPS 2020): dynamic kernels per grid cell
convolved with unified mask features (:class:`DynamicMaskBranch`)."""
from typing import List

from mmdet.utils import ConfigType, MultiConfig, OptConfigType

from mmsolo.registry import MODELS
from ..mask_branches import BaseMaskBranch, DynamicMaskBranch
from .base_solo_head import BaseSOLOHead

SOLOV2_INIT_CFG: List[dict] = [
    dict(type='Normal', layer='Conv2d', std=0.01),
    dict(
        type='Normal',
        std=0.01,
        bias_prob=0.01,
        override=dict(name='conv_cls'))
]


@MODELS.register_module()
class SOLOv2Head(BaseSOLOHead):
    """`SOLOv2: Dynamic and Fast Instance Segmentation
    <https://arxiv.org/abs/2003.10152>`_.

    The category branch is SOLO's; the mask branch is a kernel tower
    (``kernel_convs``, CoordConv input resized to the S x S grid, then
    ``conv_kernel``) and a mask-feature module (``mask_feature_head``) over
    the FPN levels. Parameter names are mmdet 3.x's ``SOLOV2Head``'s, so
    its model-zoo checkpoints load strictly. Only chosen cells are ever
    evaluated: positives in training, at most ``nms_pre`` candidates at a
    time at test, so memory is bounded for any score distribution; boxes
    are the masks' tight boxes.

    Args:
        mask_feature_head (dict): Config of the mask-feature module
            (``feat_channels``, ``start_level``, ``end_level``,
            ``out_channels``, ``mask_stride``, ``norm_cfg``); its
            ``in_channels`` is the head's.
        dynamic_conv_size (int): Kernel size of the dynamic conv.
        dcn_cfg (dict, optional): Conv config (e.g. ``dict(type='DCNv2')``)
            of the kernel and category towers.
        dcn_apply_to_all_conv (bool): DCN in every tower conv (True, the
            full models) or only the last one (False, the light models).
        init_cfg (dict or list[dict]): Initialisation config.
        **kwargs: See :class:`BaseSOLOHead` (``num_coord_convs`` and
            ``with_cp`` are not read: the kernel tower's first conv always
            receives the coordinates).
    """
    mmdet_type = 'SOLOV2Head'

    def __init__(self,
                 *args,
                 mask_feature_head: ConfigType,
                 dynamic_conv_size: int = 1,
                 dcn_cfg: OptConfigType = None,
                 dcn_apply_to_all_conv: bool = True,
                 init_cfg: MultiConfig = SOLOV2_INIT_CFG,
                 **kwargs) -> None:
        if dcn_cfg is not None and not isinstance(dcn_cfg, dict):
            raise TypeError(f'dcn_cfg must be a dict or None, got {dcn_cfg!r}')
        if dynamic_conv_size < 1 or dynamic_conv_size % 2 == 0:
            raise ValueError('dynamic_conv_size must be odd and positive, '
                             f'got {dynamic_conv_size}')
        self.mask_feature_cfg = dict(mask_feature_head)
        self.mask_feature_cfg.pop('in_channels', None)  # the head's
        self.dynamic_conv_size = dynamic_conv_size
        self.dcn_cfg = dcn_cfg
        self.dcn_apply_to_all_conv = dcn_apply_to_all_conv
        super().__init__(*args, init_cfg=init_cfg, **kwargs)

    @property
    def mask_stride(self) -> int:
        """Stride of the unified mask features."""
        return self.mask_feature_cfg.get('mask_stride', 4)

    def tower_conv_cfg(self, index: int) -> OptConfigType:
        if self.dcn_cfg is not None and (self.dcn_apply_to_all_conv
                                         or index == self.stacked_convs - 1):
            return self.dcn_cfg
        return None

    def assigner_cfg(self) -> dict:
        """Every level's mask targets at the mask features' resolution, one
        per covering instance (as the authors' SOLOv2 and mmdet)."""
        cfg = super().assigner_cfg()
        own = (self.train_cfg or {}).get('assigner') or {}
        cfg.setdefault('all_instances', True)
        if 'mask_strides' not in own:
            cfg['mask_strides'] = [
                self.mask_stride / (self.mask_upsample // 2)
            ] * self.num_levels
        return cfg

    def paper_mask_stride(self) -> float:
        return self.mask_stride

    def build_mask_branch(self) -> BaseMaskBranch:
        return DynamicMaskBranch(
            **self.branch_args(),
            mask_feature_head=self.mask_feature_cfg,
            dynamic_conv_size=self.dynamic_conv_size)


# mmdet's spelling too, so that an mmdet config's head builds in mmsolo
MODELS.register_module(name='SOLOV2Head', module=SOLOv2Head)

# Copyright (c) mmsolo contributors. All rights reserved.
"""Vanilla SOLO head: one mask channel per grid cell (paper §2.1-2.2)."""
from mmdet.utils import MultiConfig

from mmsolo.registry import MODELS
from ..mask_branches import BaseMaskBranch, VanillaMaskBranch
from .base_solo_head import BaseSOLOHead, solo_init_cfg


class TowerSOLOHead(BaseSOLOHead):
    """A SOLO head whose mask branch is a CoordConv tower (SOLO, not
    SOLOv2): the branch also reads ``num_coord_convs``, ``with_cp`` and
    ``tower_upsample``.

    Args:
        tower_upsample (bool): Up-sample the mask towers' features by 2
            before the mask output convs, as in the paper. False runs the
            output convs at the level's resolution and up-samples only the
            chosen cells' logits (by ``mask_upsample``): the masks keep
            their resolution, the output convs cost a quarter.
        **kwargs: See :class:`BaseSOLOHead`.
    """

    def __init__(self, *args, tower_upsample: bool = True, **kwargs) -> None:
        self.tower_upsample = tower_upsample
        super().__init__(*args, **kwargs)

    def branch_args(self) -> dict:
        return dict(
            super().branch_args(),
            num_coord_convs=self.num_coord_convs,
            with_cp=self.with_cp,
            tower_upsample=self.tower_upsample)


@MODELS.register_module()
class SOLOHead(TowerSOLOHead):
    """The vanilla SOLO head (:class:`VanillaMaskBranch`).

    The mask branch predicts S^2 channels per level with a final 1x1 conv
    (``conv_mask_list``), channel ``k = i * S + j`` segmenting the instance
    centred in cell (i, j). With ``lazy_mask_conv=True`` (the default) the
    1x1 conv is evaluated only for the channels that are used, which gives
    the same result at a fraction of the cost and memory; ``False``
    materialises all S^2 channels like the reference implementations.

    Args:
        lazy_mask_conv (bool): Evaluate the final mask conv only for the
            channels that are used.
        init_cfg (dict or list[dict]): Initialisation config.
        **kwargs: See :class:`BaseSOLOHead`.
    """
    result_neutral_args = ('with_cp', 'lazy_mask_conv')

    def __init__(self,
                 *args,
                 lazy_mask_conv: bool = True,
                 init_cfg: MultiConfig = solo_init_cfg('conv_mask_list'),
                 **kwargs) -> None:
        self._lazy_mask_conv = lazy_mask_conv
        super().__init__(*args, init_cfg=init_cfg, **kwargs)

    @property
    def lazy_mask_conv(self) -> bool:
        """Whether the branch evaluates its 1x1 conv for chosen cells only.
        """
        return self.mask_branch.lazy_mask_conv

    def build_mask_branch(self) -> BaseMaskBranch:
        return VanillaMaskBranch(
            **self.branch_args(), lazy_mask_conv=self._lazy_mask_conv)

# Copyright (c) mmsolo contributors. All rights reserved.
from .base_mask_branch import (FLIP_DIMS, BaseMaskBranch, build_tower,
                               tower_levels)
from .dynamic_mask_branch import DynamicMaskBranch
from .grid_mask_branches import (DecoupledMaskBranch, LightMaskBranch,
                                 TowerMaskBranch, VanillaMaskBranch)

__all__ = [
    'BaseMaskBranch', 'FLIP_DIMS', 'build_tower', 'tower_levels',
    'TowerMaskBranch', 'VanillaMaskBranch', 'DecoupledMaskBranch',
    'LightMaskBranch', 'DynamicMaskBranch'
]

# Copyright (c) mmsolo contributors. All rights reserved.
from .grid_assigner import (BatchTargets, LevelTargets, SOLOGridAssigner,
                            center_of_mass, rescale_masks)

__all__ = [
    'SOLOGridAssigner', 'LevelTargets', 'BatchTargets', 'center_of_mass',
    'rescale_masks'
]

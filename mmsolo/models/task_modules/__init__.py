# Copyright (c) mmsolo contributors. All rights reserved.
from .grid_assigner import (LevelTargets, SOLOGridAssigner, center_of_mass,
                            rescale_masks)

__all__ = [
    'SOLOGridAssigner', 'LevelTargets', 'center_of_mass', 'rescale_masks'
]

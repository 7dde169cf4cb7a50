# Copyright (c) mmsolo contributors. All rights reserved.
from .solo_tta import (SOLOTTAModel, check_flips, flip_outputs,
                       merge_flip_views, predict_flip_tta)

__all__ = [
    'SOLOTTAModel', 'check_flips', 'flip_outputs', 'merge_flip_views',
    'predict_flip_tta'
]

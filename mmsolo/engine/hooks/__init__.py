# Copyright (c) mmsolo contributors. All rights reserved.
from .checkpoint_mismatch_hook import (CheckpointMismatchError,
                                       CheckpointMismatchHook)
from .non_finite_check_hook import NonFiniteCheckHook, NonFiniteTrainingError

__all__ = [
    'CheckpointMismatchError', 'CheckpointMismatchHook', 'NonFiniteCheckHook',
    'NonFiniteTrainingError'
]

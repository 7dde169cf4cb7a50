# Copyright (c) mmsolo contributors. All rights reserved.
from .checkpoint_mismatch_hook import (CheckpointMismatchError,
                                       CheckpointMismatchHook)
from .data_check_hook import DataCheckHook
from .non_finite_check_hook import NonFiniteCheckHook, NonFiniteTrainingError

__all__ = [
    'CheckpointMismatchError', 'CheckpointMismatchHook', 'DataCheckHook',
    'NonFiniteCheckHook', 'NonFiniteTrainingError'
]

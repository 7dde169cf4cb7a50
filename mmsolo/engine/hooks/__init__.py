# Copyright (c) mmsolo contributors. All rights reserved.
from .checkpoint_hook import CheckpointHook
from .checkpoint_mismatch_hook import (CheckpointMismatchError,
                                       CheckpointMismatchHook)
from .data_check_hook import DataCheckHook
from .non_finite_check_hook import NonFiniteCheckHook, NonFiniteTrainingError
from .resolution_schedule_hook import ResolutionScheduleHook
from .time_budget_hook import TimeBudgetHook

__all__ = [
    'CheckpointHook', 'CheckpointMismatchError', 'CheckpointMismatchHook',
    'DataCheckHook', 'NonFiniteCheckHook', 'NonFiniteTrainingError',
    'ResolutionScheduleHook', 'TimeBudgetHook'
]

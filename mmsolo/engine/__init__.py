# Copyright (c) mmsolo contributors. All rights reserved.
from .hooks import (CheckpointMismatchError, CheckpointMismatchHook,
                    NonFiniteCheckHook, NonFiniteTrainingError)
from .model_wrappers import MMSoloDistributedDataParallel
from .optim_wrappers import BF16OptimWrapper, cpu_supports_bf16

__all__ = [
    'CheckpointMismatchError', 'CheckpointMismatchHook', 'NonFiniteCheckHook',
    'NonFiniteTrainingError', 'MMSoloDistributedDataParallel',
    'BF16OptimWrapper', 'cpu_supports_bf16'
]

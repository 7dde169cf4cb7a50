# Copyright (c) mmsolo contributors. All rights reserved.
from .model_wrappers import MMSoloDistributedDataParallel
from .optim_wrappers import BF16OptimWrapper, cpu_supports_bf16

__all__ = [
    'MMSoloDistributedDataParallel', 'BF16OptimWrapper', 'cpu_supports_bf16'
]

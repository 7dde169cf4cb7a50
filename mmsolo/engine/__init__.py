# Copyright (c) mmsolo contributors. All rights reserved.
from .model_wrappers import MMSoloDistributedDataParallel

__all__ = ['MMSoloDistributedDataParallel']

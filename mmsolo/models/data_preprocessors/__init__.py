# Copyright (c) mmsolo contributors. All rights reserved.
from .batch_downscale import BatchDownscale

__all__ = ['BatchDownscale']

# Copyright (c) mmsolo contributors. All rights reserved.
from .solo import SOLO, SOLOv2

__all__ = ['SOLO', 'SOLOv2']

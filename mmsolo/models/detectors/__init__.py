# Copyright (c) mmsolo contributors. All rights reserved.
from .solo import SOLO

__all__ = ['SOLO']

# Copyright (c) mmsolo contributors. All rights reserved.
from .random_transpose import RandomTranspose

__all__ = ['RandomTranspose']

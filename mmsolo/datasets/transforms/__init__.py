# Copyright (c) mmsolo contributors. All rights reserved.
from .masks_to_contours import MasksToContours, mask_contour
from .random_transpose import RandomTranspose

__all__ = ['MasksToContours', 'RandomTranspose', 'mask_contour']

# Copyright (c) mmsolo contributors. All rights reserved.
from .cached_compose import CachedCompose
from .copy_paste import CachedCopyPaste
from .masks_to_contours import MasksToContours, mask_contour
from .random_transpose import RandomTranspose

__all__ = [
    'CachedCompose', 'CachedCopyPaste', 'MasksToContours', 'RandomTranspose',
    'mask_contour'
]

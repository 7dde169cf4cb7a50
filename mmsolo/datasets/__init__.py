# Copyright (c) mmsolo contributors. All rights reserved.
from .coco import (CocoDataset, DatasetConfigError, UnreadableImageError,
                   unreadable_reason)
from .shapes import (SHAPES_CLASSES, SUPPORTED_SHAPES, default_size_ranges,
                     ensure_shapes_dataset, make_shapes_dataset,
                     mask_to_polygons)
from .transforms import (CachedCompose, MasksToContours, RandomTranspose,
                         mask_contour)

__all__ = [
    'CocoDataset', 'DatasetConfigError', 'UnreadableImageError',
    'unreadable_reason', 'SHAPES_CLASSES', 'SUPPORTED_SHAPES',
    'default_size_ranges', 'ensure_shapes_dataset', 'make_shapes_dataset',
    'mask_to_polygons', 'CachedCompose', 'MasksToContours', 'RandomTranspose',
    'mask_contour'
]

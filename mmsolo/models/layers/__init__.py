# Copyright (c) mmsolo contributors. All rights reserved.
from .coord_feats import concat_coords, make_coord_feats
from .grid_align import GRID_ALIGN_MODES, align_to_grid
from .mask_nms import mask_nms
from .matrix_nms import mask_iou_upper, matrix_nms
from .postprocess import masks_to_boxes, solo_postprocess

__all__ = [
    'make_coord_feats', 'concat_coords', 'align_to_grid', 'GRID_ALIGN_MODES',
    'matrix_nms', 'mask_nms', 'mask_iou_upper', 'masks_to_boxes',
    'solo_postprocess'
]

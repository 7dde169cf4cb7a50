# Copyright (c) mmsolo contributors. All rights reserved.
from .boundary_metric import (BoundaryFScoreMetric, distance_to,
                              match_boundaries)
from .gt_mask_oracle_metric import GTMaskOracleMetric, mask_iou, oracle_masks

__all__ = [
    'BoundaryFScoreMetric', 'GTMaskOracleMetric', 'distance_to', 'mask_iou',
    'match_boundaries', 'oracle_masks'
]

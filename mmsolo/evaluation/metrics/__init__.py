# Copyright (c) mmsolo contributors. All rights reserved.
from .gt_mask_oracle_metric import GTMaskOracleMetric, mask_iou, oracle_masks

__all__ = ['GTMaskOracleMetric', 'mask_iou', 'oracle_masks']

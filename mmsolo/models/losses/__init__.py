# Copyright (c) mmsolo contributors. All rights reserved.
from .mask_losses import BasePerMaskLoss, DiceLoss, MaskBCELoss, MaskFocalLoss

__all__ = ['BasePerMaskLoss', 'DiceLoss', 'MaskBCELoss', 'MaskFocalLoss']

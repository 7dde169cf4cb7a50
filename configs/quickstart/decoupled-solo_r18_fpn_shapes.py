# Copyright (c) mmsolo contributors. All rights reserved.
# Quick start with Decoupled SOLO (paper §4): the same run as
# solo_r18_fpn_shapes.py with X/Y mask branches instead of S^2 channels.
_base_ = './solo_r18_fpn_shapes.py'

model = dict(
    mask_head=dict(
        type='DecoupledSOLOHead',
        loss_mask=dict(
            type='DiceLoss', use_sigmoid=True, activate=False,
            loss_weight=3.0)))

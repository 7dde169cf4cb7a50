# Copyright (c) mmsolo contributors. All rights reserved.
# The tiny tool-test SOLO (./tiny_solo_shapes.py) with a SOLOv2 head.
_base_ = './tiny_solo_shapes.py'

model = dict(
    type='SOLOv2',
    mask_head=dict(
        type='SOLOv2Head',
        feat_channels=32,
        mask_feature_head=dict(
            feat_channels=16,
            start_level=0,
            end_level=3,
            out_channels=32,
            mask_stride=4,
            norm_cfg=dict(type='GN', num_groups=8, requires_grad=True))))

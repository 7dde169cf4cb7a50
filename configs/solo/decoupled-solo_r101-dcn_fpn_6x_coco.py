# Copyright (c) mmsolo contributors. All rights reserved.
# Decoupled SOLO, ResNet-101-FPN with deformable convolutions (DCNv2) in
# ResNet stages 2-4 (conv3_x-conv5_x), 6x, short side 640-800 scale jitter.
# Paper Table 1: 40.5 mask AP on COCO test-dev.
_base_ = './decoupled-solo_r101_fpn_6x_coco.py'

model = dict(
    backbone=dict(
        dcn=dict(type='DCNv2', deform_groups=1, fallback_on_stride=False),
        stage_with_dcn=(False, True, True, True)))

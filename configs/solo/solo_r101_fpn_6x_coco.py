# Copyright (c) mmsolo contributors. All rights reserved.
# SOLO, ResNet-101-FPN, 6x (72 epochs), short side 640-800 scale jitter.
# Paper: 37.1 mask AP on val2017 (Table 6), 37.8 on test-dev (Table 1).
_base_ = './solo_r50_fpn_6x_coco.py'

model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet101')))

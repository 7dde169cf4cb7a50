# Copyright (c) mmsolo contributors. All rights reserved.
# SOLO, ResNet-101-FPN, 3x (36 epochs), short side 640-800 scale jitter.
# The paper reports R101 only with 6x; no published number for this one.
_base_ = './solo_r50_fpn_3x_coco.py'

model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet101')))

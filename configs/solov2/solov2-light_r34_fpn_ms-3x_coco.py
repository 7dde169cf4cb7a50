# Copyright (c) mmsolo contributors. All rights reserved.
# SOLOv2-Light, ResNet-34-FPN, 3x. mmdet model zoo (val): 31.9 mask AP.
_base_ = './solov2-light_r50_fpn_ms-3x_coco.py'

model = dict(
    backbone=dict(
        depth=34, init_cfg=dict(checkpoint='torchvision://resnet34')),
    neck=dict(in_channels=[64, 128, 256, 512]))

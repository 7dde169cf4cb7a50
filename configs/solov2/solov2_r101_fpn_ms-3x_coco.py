# Copyright (c) mmsolo contributors. All rights reserved.
# SOLOv2, ResNet-101-FPN, 3x, scale jitter. mmdet model zoo (val2017): 39.1
# mask AP; the authors report 66 ms per image on a V100.
_base_ = './solov2_r50_fpn_ms-3x_coco.py'

model = dict(
    backbone=dict(
        depth=101, init_cfg=dict(checkpoint='torchvision://resnet101')))

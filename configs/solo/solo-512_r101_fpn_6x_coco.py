# Copyright (c) mmsolo contributors. All rights reserved.
# SOLO-512, ResNet-101-FPN, 6x. Paper Table 6 (val2017): 35.0 mask AP at
# 19.2 FPS on a V100.
_base_ = './solo-512_r50_fpn_6x_coco.py'

model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet101')))

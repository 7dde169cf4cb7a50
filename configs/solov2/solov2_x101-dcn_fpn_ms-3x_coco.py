# Copyright (c) mmsolo contributors. All rights reserved.
# SOLOv2, ResNeXt-101 (64x4d)-DCN-FPN, 3x, scale jitter. mmdet model zoo
# (val2017): 42.4 mask AP.
_base_ = './solov2_r101-dcn_fpn_ms-3x_coco.py'

model = dict(
    backbone=dict(
        type='mmdet.ResNeXt',
        groups=64,
        base_width=4,
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://resnext101_64x4d')))

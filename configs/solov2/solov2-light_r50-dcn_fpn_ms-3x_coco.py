# Copyright (c) mmsolo contributors. All rights reserved.
# SOLOv2-Light, ResNet-50-DCN-FPN, 3x: deformable convs in the backbone's
# stages 2-4 and in the last conv of the 3-conv kernel and category towers.
# mmdet has the config but publishes no number or checkpoint for it.
_base_ = './solov2-light_r50_fpn_ms-3x_coco.py'

model = dict(
    backbone=dict(
        dcn=dict(type='DCNv2', deformable_groups=1, fallback_on_stride=False),
        stage_with_dcn=(False, True, True, True)),
    mask_head=dict(
        feat_channels=256,
        stacked_convs=3,
        scale_ranges=((1, 64), (32, 128), (64, 256), (128, 512), (256, 2048)),
        mask_feature_head=dict(out_channels=128),
        dcn_cfg=dict(type='DCNv2'),
        dcn_apply_to_all_conv=False))

# Copyright (c) mmsolo contributors. All rights reserved.
# SOLOv2, ResNet-101-DCN-FPN, 3x, scale jitter: deformable convs in the
# backbone's stages 2-4, every conv of the kernel and category towers and
# the mask-feature module. mmdet model zoo (val2017): 41.2 mask AP.
_base_ = './solov2_r101_fpn_ms-3x_coco.py'

model = dict(
    backbone=dict(
        dcn=dict(type='DCNv2', deformable_groups=1, fallback_on_stride=False),
        stage_with_dcn=(False, True, True, True)),
    mask_head=dict(
        mask_feature_head=dict(conv_cfg=dict(type='DCNv2')),
        dcn_cfg=dict(type='DCNv2'),
        dcn_apply_to_all_conv=True))

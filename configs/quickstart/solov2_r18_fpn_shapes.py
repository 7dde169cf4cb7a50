# Copyright (c) mmsolo contributors. All rights reserved.
# Quick start with SOLOv2 instead of the Decoupled-Light head: the same
# backbone, neck width, data, pipelines, schedule and test-time flips as
# ./decoupled-solo-light_r18_fpn_shapes-192.py (the main job's model until
# 2026-12-01, against which it was measured), with
# SOLOv2's dynamic kernels and unified mask features.
#
#   python tools/train.py configs/quickstart/solov2_r18_fpn_shapes.py
#
# Mask features: P2-P5 of the 192 x 192 input fused at stride 4 (48 x 48),
# their logits up-sampled by 2 for the loss and the masks (mask_upsample=4,
# stride 2, as the default quick start's masks) and trained against
# area-fraction targets. Kernels are computed only for chosen cells.
_base_ = './decoupled-solo-light_r18_fpn_shapes-192.py'

feat_channels = 48
mask_channels = 32  # E: channels of the mask features and of each kernel
model = dict(
    type='SOLOv2',
    mask_head=dict(
        _delete_=True,
        type='SOLOv2Head',
        num_classes={{_base_.num_classes}},
        in_channels=feat_channels,
        feat_channels=feat_channels,
        stacked_convs=2,
        strides={{_base_.strides}},
        scale_ranges={{_base_.scale_ranges}},
        num_grids=[24, 20, 16, 12, 8],
        level_indices={{_base_.level_indices}},
        mask_upsample=4,
        soft_mask_targets=True,
        mask_feature_head=dict(
            feat_channels=feat_channels,
            start_level=0,
            end_level=3,
            out_channels=mask_channels,
            mask_stride=4,
            norm_cfg=dict(type='GN', num_groups=16, requires_grad=True)),
        loss_mask=dict(type='DiceLoss', use_sigmoid=True, loss_weight=3.0),
        loss_cls=dict(
            type='mmdet.FocalLoss',
            use_sigmoid=True,
            gamma=2.0,
            alpha=0.25,
            loss_weight=2.0),
        norm_cfg=dict(type='GN', num_groups=16, requires_grad=True)))

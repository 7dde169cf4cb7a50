# Copyright (c) mmsolo contributors. All rights reserved.
# SOLOv2 with a ResNet-50 + FPN (P2-P6) backbone: the model only.
# Paper: "SOLOv2: Dynamic and Fast Instance Segmentation", NeurIPS 2020.
# Same settings and parameter names as mmdet 3.3.0's solov2_r50_fpn_1x_coco
# (its checkpoints load strictly); SOLOv2Head is mmsolo's (real boxes,
# memory bounded by nms_pre, Matrix NMS or mask NMS).
_base_ = './solo_r50_fpn.py'

model = dict(
    type='SOLOv2',
    backbone=dict(with_cp=False),
    mask_head=dict(
        _delete_=True,
        type='SOLOv2Head',
        num_classes={{_base_.num_classes}},
        in_channels=256,
        feat_channels=512,
        stacked_convs=4,
        strides={{_base_.strides}},
        scale_ranges={{_base_.scale_ranges}},
        pos_scale=0.2,
        num_grids={{_base_.num_grids}},
        cls_down_index=0,
        # the unified mask features: P2-P5 fused at stride 4, coordinates
        # added at P5; kernels of out_channels x 1 x 1 per grid cell
        mask_feature_head=dict(
            feat_channels=128,
            start_level=0,
            end_level=3,
            out_channels=256,
            mask_stride=4,
            norm_cfg={{_base_.norm_cfg}}),
        loss_mask=dict(type='DiceLoss', use_sigmoid=True, loss_weight=3.0),
        loss_cls=dict(
            type='mmdet.FocalLoss',
            use_sigmoid=True,
            gamma=2.0,
            alpha=0.25,
            loss_weight=1.0),
        norm_cfg={{_base_.norm_cfg}}))

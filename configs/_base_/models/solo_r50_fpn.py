# Copyright (c) mmsolo contributors. All rights reserved.
# SOLO with a ResNet-50 + FPN (P2-P6) backbone: the model only.
# Dataset, schedule and runtime come from the other ``_base_`` files.
# Paper: "SOLO: Segmenting Objects by Locations", ECCV 2020.

# ========================= Frequently changed values =========================
num_classes = 80  # COCO
# ImageNet-pretrained backbone, as in the paper. Set to None to train from
# scratch (or when ``load_from`` provides every weight).
backbone_init_cfg = dict(
    type='Pretrained', checkpoint='torchvision://resnet50')
norm_cfg = dict(type='GN', num_groups=32, requires_grad=True)  # head norm

# Paper Table 8: five FPN levels P2-P6, re-scaled strides, grid number S
# and the instance scale (sqrt of the box area) each level is in charge of.
strides = [8, 8, 16, 32, 32]
num_grids = [40, 36, 24, 16, 12]
scale_ranges = ((1, 96), (48, 192), (96, 384), (192, 768), (384, 2048))

# =============================== Model =======================================
model = dict(
    type='SOLO',
    data_preprocessor=dict(
        type='mmdet.DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_mask=True,
        pad_size_divisor=32),
    backbone=dict(
        type='mmdet.ResNet',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        # Gradient checkpointing (here and in the head) recomputes
        # activations in the backward pass: the same losses and gradients
        # with about 30% less training memory for a few % more time. Set
        # both to False when memory is plentiful.
        with_cp=True,
        style='pytorch',
        init_cfg=backbone_init_cfg),
    neck=dict(
        type='mmdet.FPN',
        in_channels=[256, 512, 1024, 2048],
        out_channels=256,
        start_level=0,
        num_outs=5),
    mask_head=dict(
        type='SOLOHead',
        num_classes=num_classes,
        in_channels=256,
        stacked_convs=7,  # paper Table 5: head depth 7
        feat_channels=256,
        strides=strides,
        scale_ranges=scale_ranges,
        pos_scale=0.2,  # centre region: epsilon = 0.2
        num_grids=num_grids,
        cls_down_index=0,
        loss_mask=dict(type='DiceLoss', use_sigmoid=True, loss_weight=3.0),
        loss_cls=dict(
            type='mmdet.FocalLoss',
            use_sigmoid=True,
            gamma=2.0,
            alpha=0.25,
            loss_weight=1.0),
        norm_cfg=norm_cfg,
        with_cp=True),
    # model training and testing settings
    test_cfg=dict(
        nms_pre=500,  # top-500 candidates go into NMS
        score_thr=0.1,  # category score threshold
        mask_thr=0.5,  # soft mask -> binary mask
        filter_thr=0.05,  # score threshold after Matrix NMS
        kernel='gaussian',  # Matrix NMS decay kernel: gaussian | linear
        sigma=2.0,
        max_per_img=100,
        nms_type='matrix'))  # 'matrix' | 'mask' (paper's mask NMS)

# Copyright (c) mmsolo contributors. All rights reserved.
# A tiny SOLO for the tool tests: R18 with 16 base channels, 32-channel FPN
# and head, small grids, 128 px images, 4 training iterations on the
# generated shapes set. Tests point it at the data with
# --cfg-options {train,val,test}_dataloader.dataset.data_root=ROOT
#               {val,test}_evaluator.ann_file=ROOT/val.json
_base_ = '../../../configs/_base_/default_runtime.py'

data_root = 'data/shapes/'
# = mmsolo.datasets.shapes.SHAPES_CLASSES (tests check that they agree)
classes = ('circle', 'square', 'triangle', 'star')
num_classes = len(classes)
img_scale = (128, 128)
max_iters = 4

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
        depth=18,
        base_channels=16,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        init_cfg=None),
    neck=dict(
        type='mmdet.FPN',
        in_channels=[16, 32, 64, 128],
        out_channels=32,
        start_level=0,
        num_outs=5),
    mask_head=dict(
        type='SOLOHead',
        num_classes=num_classes,
        in_channels=32,
        stacked_convs=2,
        feat_channels=32,
        strides=[8, 8, 16, 32, 32],
        scale_ranges=((1, 32), (16, 64), (32, 128), (64, 256), (128, 512)),
        pos_scale=0.2,
        num_grids=[12, 10, 8, 6, 4],
        cls_down_index=0,
        loss_mask=dict(type='DiceLoss', use_sigmoid=True, loss_weight=3.0),
        loss_cls=dict(
            type='mmdet.FocalLoss',
            use_sigmoid=True,
            gamma=2.0,
            alpha=0.25,
            loss_weight=1.0),
        norm_cfg=dict(type='GN', num_groups=8, requires_grad=True)),
    # Near-zero thresholds: after a few iterations the scores and soft masks
    # are still at their initial priors (~0.01), and CocoMetric computes no
    # numbers for a model that outputs no instance at all.
    test_cfg=dict(
        nms_pre=100,
        score_thr=0.0,
        mask_thr=0.01,
        filter_thr=0.0,
        kernel='gaussian',
        sigma=2.0,
        max_per_img=20,
        nms_type='matrix'))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mmdet.LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='mmdet.Resize', scale=img_scale, keep_ratio=True),
    dict(type='mmdet.RandomFlip', prob=0.5),
    dict(type='mmdet.PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mmdet.Resize', scale=img_scale, keep_ratio=True),
    dict(type='mmdet.LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='mmdet.PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='CocoDataset',
        data_root=data_root,
        metainfo=dict(classes=classes),
        ann_file='train.json',
        data_prefix=dict(img='train/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=0),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='CocoDataset',
        data_root=data_root,
        metainfo=dict(classes=classes),
        ann_file='val.json',
        data_prefix=dict(img='val/'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(
    type='mmdet.CocoMetric',
    ann_file=data_root + 'val.json',
    metric=['bbox', 'segm'],  # SOLO's boxes are the tight boxes of its masks
    format_only=False)
test_evaluator = val_evaluator

train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001),
    clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_iters,
        by_epoch=False,
        milestones=[max_iters // 2],
        gamma=0.1)
]

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=1),
    checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False))
log_processor = dict(window_size=1, by_epoch=False)
# Heads may leave a level's parameters without gradient when it has no
# positive sample in a batch; DDP must not wait for them.
find_unused_parameters = True

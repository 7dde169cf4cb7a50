# Copyright (c) mmsolo contributors. All rights reserved.
# Quick start: SOLO with a ResNet-18 trained from scratch on the generated
# "shapes" set (tools/misc/make_shapes_dataset.py), sized for a 2-core CPU.
# Inherits the real model, dataset, schedule and runtime files and changes
# only what a small CPU run needs.
_base_ = [
    '../_base_/models/solo_r50_fpn.py', '../_base_/datasets/coco_instance.py',
    '../_base_/schedules/schedule_1x.py', '../_base_/default_runtime.py'
]

# ========================= Frequently changed values =========================
data_root = 'data/shapes/'
classes = ('circle', 'square', 'triangle', 'star')  # in the json's order
num_classes = len(classes)
# The generated images are 256x256. Training and testing at 192 gives 1.5x
# the iterations per minute on a CPU and reached a higher mask AP within the
# quick start's 15 minutes (configs/quickstart/README.md).
img_scale = (192, 192)
max_epochs = 7  # of 2000 generated images: ~1750 iterations
base_lr = 4e-3
train_batch_size_per_gpu = 8
# sqrt(box area) ranges of the five levels: the paper's, scaled by 256 / 800
# (the size of the generated images: their objects span all five ranges; at
# the 192 input they are 0.75x as large, which favours the finer levels)
scale_ranges = ((1, 31), (15, 61), (31, 123), (61, 246), (123, 2048))
# fewer cells than the paper's grids: less work per image on a CPU
num_grids = [24, 16, 16, 8, 8]
# Finer features for the coarse levels: at 192x192, P4-P6 are 12x12 to 3x3
# pixels, too coarse for the masks of the objects that SOLO assigns to them.
# Levels 1-2 read P3 (stride 8) and levels 3-4 P4 (strides 8, 8, 8, 16, 16;
# levels reading the same map share their mask-tower outputs).
level_indices = [0, 1, 1, 2, 2]
strides = [8, 8, 8, 16, 16]
# P5's output conv is then left without a gradient: tell DDP (tools/dist_*.sh)
find_unused_parameters = True

# =============================== Model =======================================
model = dict(
    channels_last=True,  # NHWC: ~15 % faster training on a CPU, same math
    backbone=dict(
        depth=18,
        base_channels=32,
        frozen_stages=-1,
        norm_eval=False,  # trained from scratch: BN statistics must adapt
        with_cp=False,  # small inputs: speed matters more than memory
        init_cfg=None),  # no ImageNet weights
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=64),
    mask_head=dict(
        num_classes=num_classes,
        in_channels=64,
        feat_channels=64,
        stacked_convs=3,
        with_cp=False,
        scale_ranges=scale_ranges,
        num_grids=num_grids,
        level_indices=level_indices,
        strides=strides,
        # Masks at a quarter of the level's stride (2 in the paper), from
        # up-sampled logits, trained against area-fraction targets: objects
        # here are only a few mask pixels across (configs/quickstart/README.md)
        mask_upsample=4,
        soft_mask_targets=True,
        norm_cfg=dict(type='GN', num_groups=16, requires_grad=True)),
    # A briefly trained model is not confident yet: keep candidates down to
    # 0.05 (the paper uses 0.1) so that the COCO metric sees them.
    # ... and keep small masks: the reference drops masks whose area is not
    # above the level's stride (in stride-4 mask pixels), which removed real
    # small objects here (0.441 against 0.451 mask AP, run F2 in
    # configs/quickstart/README.md); 1/16 of it is what the runs measured.
    # Test-time augmentation: the head's logits of the image and of its 3
    # flips, flipped back, are averaged before the post-processing (the
    # model trains on all of them). Mask AP 0.522 against 0.494 for the
    # same checkpoint, 9.2 against 7.7 s for the 100 val images.
    test_cfg=dict(
        score_thr=0.05,
        min_area_factor=0.0625,
        tta_flips=['horizontal', 'vertical', 'diagonal']))

# =============================== Data ========================================
# The shapes look the same rotated by any angle, so training draws from all 8
# rotations and reflections by multiples of 90 degrees: no flip or one of 3
# flips, then a transposition half of the time. The model over-fitted the
# 2000 images without it (mask AP 0.55 on training images, 0.44 on val);
# with it the main job reached 0.494 instead of 0.443 (0.469 with the flips
# alone; configs/quickstart/README.md). For your own photos of upright
# things keep only dict(type='mmdet.RandomFlip', prob=0.5).
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mmdet.LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='mmdet.Resize', scale=img_scale, keep_ratio=True),
    dict(
        type='mmdet.RandomFlip',
        prob=[0.25, 0.25, 0.25],
        direction=['horizontal', 'vertical', 'diagonal']),
    dict(type='RandomTranspose', prob=0.5),
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
# Data loading in the main process: on 2 cores a worker process takes CPU
# time from the training step (~9 % faster per iteration without it).
train_dataloader = dict(
    batch_size=train_batch_size_per_gpu,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        metainfo=dict(classes=classes),
        ann_file='train.json',
        data_prefix=dict(img='train/'),
        # images without objects are negatives SOLO learns from
        filter_cfg=dict(filter_empty_gt=False, min_size=0),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=1,
    dataset=dict(
        data_root=data_root,
        metainfo=dict(classes=classes),
        ann_file='val.json',
        data_prefix=dict(img='val/'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'val.json')
test_evaluator = val_evaluator

# ============================ Schedule =======================================
train_cfg = dict(max_epochs=max_epochs, val_interval=2)
# The cosine decay has no `end`/`T_max`: the runner ends it at the train
# loop's max_epochs, so a child config (or --cfg-options
# train_cfg.max_epochs=N) changes the length in one place.
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
    dict(
        type='CosineAnnealingLR',
        eta_min=base_lr * 0.05,
        by_epoch=True,
        begin=0,
        convert_to_iter_based=True)  # a smooth decay, updated every iteration
]
# AdamW trains a randomly initialised network far faster than SGD.
# BF16OptimWrapper: bfloat16 autocast, ~18 % less time per iteration on a CPU
# with AVX512-BF16/AMX; float32 (with a log line) on CPUs without them.
optim_wrapper = dict(
    type='BF16OptimWrapper',
    # fused AdamW and foreach gradient clipping: fewer, larger kernels
    optimizer=dict(
        _delete_=True, type='AdamW', lr=base_lr, weight_decay=0.05,
        fused=True),
    clip_grad=dict(max_norm=35, norm_type=2, foreach=True))
auto_scale_lr = dict(base_batch_size=train_batch_size_per_gpu)

default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
log_processor = dict(window_size=10)
randomness = dict(seed=0)  # repeatable runs on the same machine and software
# Denormal floats flushed to zero (tools/train.py and tools/test.py): late in
# training some mask-loss gradients are denormal, which x86 CPUs handle
# slowly (mmsolo/utils/denormal.py: a step took ~8 % longer without this).
env_cfg = dict(flush_denormal=True)

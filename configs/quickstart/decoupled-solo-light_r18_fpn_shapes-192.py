# Copyright (c) mmsolo contributors. All rights reserved.
# The main job's model until 2026-12-01 (now the base of the SOLOv2, Mask
# R-CNN and contour quick starts, whose results were measured against it).
# Quick start with the Decoupled-Light head (the authors' light model): one
# mask tower shared by the X and Y outputs, here with 2 convs per tower and
# 48 channels in the FPN and the head. On the shapes set this learned more per
# minute on a CPU than deeper or wider heads (configs/quickstart/README.md),
# so the main job trains it for more epochs in the same time. Grids of
# 20/12 cells at levels 2/4 (16/8 in the base) gave a higher mask AP.
# The category loss counts twice: confusing the classes of small shapes was
# the main source of high-scored false positives, and in 8-epoch runs the
# weight 2 gave mask AP 0.280 against 0.229 (weight 1) and 0.254 (weight 4).
_base_ = './decoupled-solo_r18_fpn_shapes.py'

max_epochs = 21  # of 2000 generated images: 5250 iterations
feat_channels = 48
model = dict(
    neck=dict(out_channels=feat_channels),
    mask_head=dict(
        type='DecoupledSOLOLightHead',
        in_channels=feat_channels,
        feat_channels=feat_channels,
        stacked_convs=2,
        num_grids=[24, 20, 16, 12, 8],
        dcn_cfg=None,
        loss_cls=dict(loss_weight=2.0)))

train_cfg = dict(max_epochs=max_epochs, val_interval=10)
default_hooks = dict(checkpoint=dict(interval=max_epochs))

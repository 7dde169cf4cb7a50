# Copyright (c) mmsolo contributors. All rights reserved.
# Quick start with the Decoupled-Light head (the authors' light model): one
# mask tower shared by the X and Y outputs, here with 2 convs per tower and
# 48 channels in the FPN and the head. On the shapes set this learned more per
# minute on a CPU than deeper or wider heads (configs/quickstart/README.md),
# so the main job trains it for more epochs in the same time. Grids of
# 20/12 cells at levels 2/4 (16/8 in the base) gave a higher mask AP.
_base_ = './decoupled-solo_r18_fpn_shapes.py'

max_epochs = 17  # of 2000 generated images: 4250 iterations
feat_channels = 48
model = dict(
    neck=dict(out_channels=feat_channels),
    mask_head=dict(
        type='DecoupledSOLOLightHead',
        in_channels=feat_channels,
        feat_channels=feat_channels,
        stacked_convs=2,
        num_grids=[24, 20, 16, 12, 8],
        dcn_cfg=None))

train_cfg = dict(max_epochs=max_epochs, val_interval=6)
default_hooks = dict(checkpoint=dict(interval=max_epochs))

# Copyright (c) mmsolo contributors. All rights reserved.
# The main job's model: the Decoupled-Light quick start of
# ./decoupled-solo-light_r18_fpn_shapes-192.py made cheaper per image, so
# that a 2-core CPU without native bfloat16 trains enough epochs in the
# quick start's 15 minutes (configs/quickstart/README.md, "Accuracy per
# CPU-minute"): a 160x160 input, ResNet-18 with 16 base channels, FPN and
# head 32 channels wide, an FPN from C3 (no P2: levels 0-2 read P3, levels
# 3-4 P4, both already at the head's strides 8 and 16) and the mask output
# convs at the levels' resolution (tower_upsample=False; the masks stay at
# stride 2), and the first half of the epochs at 96x96 (a resolution
# schedule: cheaper epochs, the last ones at the test's 160).
_base_ = './decoupled-solo-light_r18_fpn_shapes-192.py'

img_scale = (160, 160)
feat_channels = 32
# without a time budget (tools/train.py): what the main job's 15 minutes
# hold on a 2-core CPU with AVX512-BF16; --budget-min fits it to any CPU
max_epochs = 54
model = dict(
    # off until ResolutionScheduleHook switches it on
    data_preprocessor=dict(
        batch_augments=[dict(type='BatchDownscale', ratio=0.6)]),
    backbone=dict(base_channels=16),
    neck=dict(
        in_channels=[16, 32, 64, 128],
        out_channels=feat_channels,
        start_level=1),
    mask_head=dict(
        in_channels=feat_channels,
        feat_channels=feat_channels,
        level_indices=[0, 0, 0, 1, 1],
        resize_ends=False,
        tower_upsample=False))

# the base's pipelines at the new input size; loading and resizing run once
# per image (kept in memory, ~0.15 MB each): a tenth of a training
# iteration on a CPU
resize = dict(type='mmdet.Resize', scale=img_scale, keep_ratio=True)
train_pipeline = [
    dict(
        type='CachedCompose', transforms=_base_.train_pipeline[:2] + [resize])
] + _base_.train_pipeline[3:]
test_pipeline = [_base_.test_pipeline[0], resize] + _base_.test_pipeline[2:]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
# validation after the first epoch at full resolution
train_cfg = dict(max_epochs=max_epochs, val_interval=28)
custom_hooks = _base_.custom_hooks + [
    dict(type='ResolutionScheduleHook', low_fraction=0.5)
]
default_hooks = dict(checkpoint=dict(interval=max_epochs))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

# Copyright (c) mmsolo contributors. All rights reserved.
# Decoupled SOLO Light (from the SOLO authors' code, not in the paper):
# a shared 4-conv mask tower, scale ranges halved for the 852x512 input.
# Authors' model zoo (minival): 33.0 mask AP. mmdet model zoo: 32.9
# (35.0 ms per image on a V100).
_base_ = './decoupled-solo_r50_fpn_3x_coco.py'

img_scale = (852, 512)
train_scales = [(852, 512), (852, 480), (852, 448), (852, 416), (852, 384),
                (852, 352)]

model = dict(
    mask_head=dict(
        type='DecoupledSOLOLightHead',
        stacked_convs=4,
        scale_ranges=((1, 64), (32, 128), (64, 256), (128, 512), (256, 2048))))

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
    dict(type='mmdet.LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='mmdet.RandomChoiceResize',
        scales=train_scales,
        # RandomChoiceResize comes from mmcv; without the prefix it would
        # build mmcv's Resize, which cannot resize masks.
        resize_type='mmdet.Resize',
        keep_ratio=True),
    dict(type='mmdet.RandomFlip', prob=0.5),
    dict(type='mmdet.PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
    dict(type='mmdet.Resize', scale=img_scale, keep_ratio=True),
    dict(type='mmdet.LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='mmdet.PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]

train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

# Copyright (c) mmsolo contributors. All rights reserved.
# SOLOv2-Light, ResNet-50-FPN, 3x: a 2-conv 256-channel kernel tower,
# 128-channel kernels and mask features, scale ranges for the 448 x 768
# input. mmdet model zoo (val2017): 33.7 mask AP; the authors report 24 ms
# per image on a V100.
_base_ = './solov2_r50_fpn_ms-3x_coco.py'

img_scale = (448, 768)  # mmdet's; keep_ratio: long side 768, short 448
train_scales = [(768, 512), (768, 480), (768, 448), (768, 416), (768, 384),
                (768, 352)]

model = dict(
    mask_head=dict(
        stacked_convs=2,
        feat_channels=256,
        scale_ranges=((1, 56), (28, 112), (56, 224), (112, 448), (224, 896)),
        mask_feature_head=dict(out_channels=128)))

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

# Copyright (c) mmsolo contributors. All rights reserved.
# SOLO-512 (paper Sec. 3.4, Table 6): the same model as SOLO, trained and
# tested with the short image side 512 instead of 800. Paper (val2017,
# ResNet-50-FPN, 6x): 34.2 mask AP at 22.5 FPS on a V100.
# The paper gives only "short side 512"; the jitter below is the SOLO
# authors' 512-pixel setting (their Decoupled-SOLO-Light config): short side
# 352-512 in steps of 32, long side at most 852 (1333 * 512 / 800 ~ 853).
_base_ = './solo_r50_fpn_6x_coco.py'

img_scale = (852, 512)
train_scales = [(852, 512), (852, 480), (852, 448), (852, 416), (852, 384),
                (852, 352)]

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

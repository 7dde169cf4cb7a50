# Copyright (c) mmsolo contributors. All rights reserved.
# COCO instance segmentation with the paper's scale jitter: the short side
# is drawn from {640, 672, ..., 800} (long side at most 1333); testing
# stays single scale (1333, 800).
_base_ = './coco_instance.py'

train_scales = [(1333, 800), (1333, 768), (1333, 736), (1333, 704),
                (1333, 672), (1333, 640)]

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
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

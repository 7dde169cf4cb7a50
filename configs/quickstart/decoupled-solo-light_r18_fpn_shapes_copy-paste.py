# Copyright (c) mmsolo contributors. All rights reserved.
# The main job's model with copy-paste: each training image gets a random
# subset of the objects of a recently seen image pasted onto it (~4.2
# objects per image instead of 3.0). Results against the default in
# configs/quickstart/README.md ("Copy-paste").
_base_ = './decoupled-solo-light_r18_fpn_shapes.py'

copy_paste = dict(
    type='CachedCopyPaste',
    # in pixels of the 160-pixel input (mmdet's defaults are for COCO sizes):
    # an object is dropped when its box moved by more than 3 pixels and at
    # most 20 of its pixels stay visible
    bbox_occluded_thr=3,
    mask_occluded_thr=20)
train_pipeline = _base_.train_pipeline[:1] + [copy_paste
                                              ] + _base_.train_pipeline[1:]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

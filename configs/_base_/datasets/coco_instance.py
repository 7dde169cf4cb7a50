# Copyright (c) mmsolo contributors. All rights reserved.
# COCO 2017 instance segmentation, single scale (1333, 800).

# ========================= Frequently changed values =========================
# mmsolo's CocoDataset: mmdet's, plus clear errors for classes that the json
# lacks and unreadable images (or `skip_unreadable=True` to skip them).
dataset_type = 'CocoDataset'
data_root = 'data/coco/'
# Classes come from the dataset type; for a custom COCO-format dataset pass
# e.g. ``metainfo=dict(classes=('cat', 'dog'))`` to the datasets (and set
# ``num_classes`` in the model), as configs/quickstart/ does.

# Example to use a different file backend:
# backend_args = dict(
#     backend='petrel',
#     path_mapping=dict({
#         './data/': 's3://openmmlab/datasets/detection/',
#         'data/': 's3://openmmlab/datasets/detection/'
#     }))
backend_args = None

img_scale = (1333, 800)  # (long side, short side) upper bounds
train_batch_size_per_gpu = 2  # 8 GPUs x 2 images = 16 images, as the paper
train_num_workers = 2
val_batch_size_per_gpu = 1
val_num_workers = 2
persistent_workers = True

train_ann_file = 'annotations/instances_train2017.json'
train_data_prefix = 'train2017/'
val_ann_file = 'annotations/instances_val2017.json'
val_data_prefix = 'val2017/'

# =============================== Pipelines ===================================
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='mmdet.LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='mmdet.Resize', scale=img_scale, keep_ratio=True),
    dict(type='mmdet.RandomFlip', prob=0.5),
    dict(type='mmdet.PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='mmdet.Resize', scale=img_scale, keep_ratio=True),
    # If you don't have ground-truth annotations, delete this transform.
    dict(type='mmdet.LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='mmdet.PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]

# ============================== Dataloaders ==================================
train_dataloader = dict(
    batch_size=train_batch_size_per_gpu,
    num_workers=train_num_workers,
    persistent_workers=persistent_workers,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='mmdet.AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=train_ann_file,
        data_prefix=dict(img=train_data_prefix),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline=train_pipeline,
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=val_batch_size_per_gpu,
    num_workers=val_num_workers,
    persistent_workers=persistent_workers,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=val_ann_file,
        data_prefix=dict(img=val_data_prefix),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader

# ============================== Evaluators ===================================
# mmsolo's SOLO derives boxes from the predicted masks, so box AP is
# meaningful too. 'segm' comes first: it is the metric SOLO is judged by.
val_evaluator = dict(
    type='mmdet.CocoMetric',
    ann_file=data_root + val_ann_file,
    metric=['segm', 'bbox'],
    format_only=False,
    backend_args=backend_args)
test_evaluator = val_evaluator

# Inference on COCO test-dev and formatting the results for submission to
# the evaluation server:
# test_dataloader = dict(
#     batch_size=1,
#     num_workers=2,
#     persistent_workers=True,
#     drop_last=False,
#     sampler=dict(type='DefaultSampler', shuffle=False),
#     dataset=dict(
#         type=dataset_type,
#         data_root=data_root,
#         ann_file='annotations/image_info_test-dev2017.json',
#         data_prefix=dict(img='test2017/'),
#         test_mode=True,
#         pipeline=test_pipeline))
# test_evaluator = dict(
#     type='mmdet.CocoMetric',
#     metric=['segm', 'bbox'],
#     format_only=True,
#     ann_file=data_root + 'annotations/image_info_test-dev2017.json',
#     outfile_prefix='./work_dirs/coco_instance/test')

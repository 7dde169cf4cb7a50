# Copyright (c) mmsolo contributors. All rights reserved.
# SOLOv2, ResNet-50-FPN, 1x (12 epochs), single-scale (1333, 800) training.
# mmdet model zoo: 34.8 mask AP (mmdet's solov2_r50_fpn_1x_coco).
_base_ = [
    '../_base_/models/solov2_r50_fpn.py',
    '../_base_/datasets/coco_instance.py',
    '../_base_/schedules/schedule_1x.py', '../_base_/default_runtime.py'
]

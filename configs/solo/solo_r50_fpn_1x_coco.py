# Copyright (c) mmsolo contributors. All rights reserved.
# SOLO, ResNet-50-FPN, 1x (12 epochs), single-scale (1333, 800) training.
# Paper Table 9 (val2017): 32.9 mask AP. mmdet model zoo: 33.1.
_base_ = [
    '../_base_/models/solo_r50_fpn.py', '../_base_/datasets/coco_instance.py',
    '../_base_/schedules/schedule_1x.py', '../_base_/default_runtime.py'
]

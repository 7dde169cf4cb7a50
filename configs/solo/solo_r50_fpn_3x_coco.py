# Copyright (c) mmsolo contributors. All rights reserved.
# SOLO, ResNet-50-FPN, 3x (36 epochs), short side 640-800 scale jitter: the
# paper's default training setting. Paper ablation baseline (val2017):
# 35.8 mask AP (Tables 2-5). mmdet model zoo: 35.9.
_base_ = [
    '../_base_/models/solo_r50_fpn.py',
    '../_base_/datasets/coco_instance_ms-640-800.py',
    '../_base_/schedules/schedule_3x.py', '../_base_/default_runtime.py'
]

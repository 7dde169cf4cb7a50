# Copyright (c) mmsolo contributors. All rights reserved.
# SOLO, ResNet-50-FPN, 6x (72 epochs), short side 640-800 scale jitter.
# Paper: 36.0 mask AP on val2017 (Table 6), 36.8 on test-dev (Table 1).
_base_ = [
    '../_base_/models/solo_r50_fpn.py',
    '../_base_/datasets/coco_instance_ms-640-800.py',
    '../_base_/schedules/schedule_6x.py', '../_base_/default_runtime.py'
]

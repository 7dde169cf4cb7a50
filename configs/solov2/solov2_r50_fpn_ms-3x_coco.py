# Copyright (c) mmsolo contributors. All rights reserved.
# SOLOv2, ResNet-50-FPN, 3x (36 epochs), short side 640-800 scale jitter.
# mmdet model zoo (val2017): 37.5 mask AP; the authors report 54 ms per
# image on a V100.
_base_ = [
    '../_base_/models/solov2_r50_fpn.py',
    '../_base_/datasets/coco_instance_ms-640-800.py',
    '../_base_/schedules/schedule_3x.py', '../_base_/default_runtime.py'
]

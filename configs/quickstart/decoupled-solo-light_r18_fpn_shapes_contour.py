# Copyright (c) mmsolo contributors. All rights reserved.
# Quick start for instance contour detection (paper appendix B.3): the
# quick-start model (Decoupled-Light head, ResNet-18 from scratch) trained
# on the contours of the generated shapes, 2 pixels of the 192-pixel
# network input wide, with the Focal loss on the masks instead of Dice;
# everything else (data, schedule, TTA) as
# decoupled-solo-light_r18_fpn_shapes-192.py (the main job's model when
# it was measured), so it takes the same CPU time.
# Evaluation: boundary F-score at 2 pixels of the 256-pixel images and box
# AP. Results: configs/solo/contour/README.md.
_base_ = './decoupled-solo-light_r18_fpn_shapes-192.py'

contour_thickness = 2  # pixels of the network input

model = dict(
    mask_head=dict(
        # the decoupled heads give probabilities to the loss (activate=False)
        loss_mask=dict(
            _delete_=True,
            type='MaskFocalLoss',
            gamma=2.0,
            alpha=0.25,
            activate=False,
            loss_weight=20.0)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mmdet.LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='mmdet.Resize', scale=_base_.img_scale, keep_ratio=True),
    dict(
        type='mmdet.RandomFlip',
        prob=[0.25, 0.25, 0.25],
        direction=['horizontal', 'vertical', 'diagonal']),
    dict(type='RandomTranspose', prob=0.5),
    dict(type='MasksToContours', thickness=contour_thickness),
    dict(type='mmdet.PackDetInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

# the test pipeline loads the filled masks: the metric takes their contours
val_evaluator = [
    dict(
        type='mmdet.CocoMetric',
        ann_file=_base_.data_root + 'val.json',
        metric='bbox',
        format_only=False),
    dict(type='BoundaryFScoreMetric', tolerance=2., score_thr=0.3)
]
test_evaluator = val_evaluator

visualizer = dict(type='ContourVisualizer', thickness=contour_thickness)

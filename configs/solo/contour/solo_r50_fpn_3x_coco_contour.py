# Copyright (c) mmsolo contributors. All rights reserved.
# SOLO for instance contour detection (paper appendix B.3, Fig. 7): the mask
# branch learns each instance's contour (MasksToContours: OpenCV
# findContours on the ground-truth masks, 2 pixels of the network input
# wide) with the Focal loss instead of Dice; everything else is the
# instance-segmentation baseline (ResNet-50-FPN, 3x, scale jitter).
# Evaluation: boundary precision / recall / F-score at 2 pixels of the
# original image (BoundaryFScoreMetric) and box AP (the boxes are the tight
# boxes of the predicted contours). See configs/solo/contour/README.md.
_base_ = '../solo_r50_fpn_3x_coco.py'

contour_thickness = 2  # pixels of the network input

model = dict(
    mask_head=dict(
        # the paper's Focal loss settings of Table 4
        loss_mask=dict(
            _delete_=True,
            type='MaskFocalLoss',
            gamma=2.0,
            alpha=0.25,
            loss_weight=20.0)))

# contours after the resize and flip: thickness in network-input pixels
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
    dict(type='mmdet.LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='mmdet.RandomChoiceResize',
        scales=_base_.train_scales,
        resize_type='mmdet.Resize',
        keep_ratio=True),
    dict(type='mmdet.RandomFlip', prob=0.5),
    dict(type='MasksToContours', thickness=contour_thickness),
    dict(type='mmdet.PackDetInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

# the test pipeline loads the filled masks: the metric takes their contours
val_evaluator = [
    dict(
        type='mmdet.CocoMetric',
        ann_file=_base_.data_root + _base_.val_ann_file,
        metric='bbox',
        format_only=False,
        backend_args=_base_.backend_args),
    dict(type='BoundaryFScoreMetric', tolerance=2., score_thr=0.3)
]
test_evaluator = val_evaluator

# each instance contour in its own colour (tools/test.py --show-dir,
# demo/image_demo.py)
visualizer = dict(type='ContourVisualizer', thickness=contour_thickness)

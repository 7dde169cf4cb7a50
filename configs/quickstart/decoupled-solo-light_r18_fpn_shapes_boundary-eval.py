# Copyright (c) mmsolo contributors. All rights reserved.
# The quick-start instance-segmentation model, evaluated as a contour
# detector: the boundary F-score (2 pixels of the original image) of the
# contours of its predicted masks, to compare with the contour quick-start
# (decoupled-solo-light_r18_fpn_shapes_contour.py) on the same images:
#   python tools/test.py THIS_CONFIG work_dirs/quickstart/epoch_21.pth
_base_ = './decoupled-solo-light_r18_fpn_shapes.py'

val_evaluator = [
    dict(
        type='mmdet.CocoMetric',
        ann_file=_base_.data_root + 'val.json',
        metric=['bbox', 'segm'],
        format_only=False),
    dict(
        type='BoundaryFScoreMetric',
        tolerance=2.,
        score_thr=0.3,
        pred_type='mask')
]
test_evaluator = val_evaluator

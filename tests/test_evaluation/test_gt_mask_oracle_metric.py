# Copyright (c) mmsolo contributors. All rights reserved.
import contextlib
import io
import os.path as osp

import numpy as np
import pytest
import torch
from mmdet.evaluation import CocoMetric
from mmdet.structures.mask import BitmapMasks
from pycocotools.coco import COCO

from mmsolo.datasets.shapes import SHAPES_CLASSES
from mmsolo.evaluation import GTMaskOracleMetric, oracle_masks


def _box(h, w, y0, y1, x0, x1):
    mask = torch.zeros(h, w, dtype=torch.bool)
    mask[y0:y1, x0:x1] = True
    return mask


def test_oracle_masks_cases():
    gt = torch.stack([_box(10, 10, 0, 4, 0, 4), _box(10, 10, 0, 4, 4, 8)])
    preds = torch.stack([
        _box(10, 10, 0, 4, 3, 8),  # mostly the second instance
        _box(10, 10, 0, 4, 2, 6),  # tie: both IoU 8/24 -> the first
        _box(10, 10, 8, 10, 8, 10),  # overlaps nothing: kept
    ])
    out = oracle_masks(preds, gt)
    assert out.dtype == torch.bool and out.shape == preds.shape
    assert torch.equal(out[0], gt[1])
    assert torch.equal(out[1], gt[0])
    assert torch.equal(out[2], preds[2])
    # no ground truth: every prediction kept; no prediction: nothing
    assert torch.equal(oracle_masks(preds, gt[:0]), preds)
    assert oracle_masks(preds[:0], gt).shape == (0, 10, 10)


def _evaluate(metric, samples, classes):
    metric.dataset_meta = dict(classes=classes)
    metric.process({}, samples)
    with contextlib.redirect_stdout(io.StringIO()):
        return metric.evaluate(len(samples))


def test_metric_on_shifted_ground_truth(shapes_data_root):
    """Predictions = ground truth shifted by a third of its size: the
    oracle gives every one its instance back (AP 1), as predicted they
    mostly miss IoU 0.75."""
    ann_file = osp.join(shapes_data_root, 'val.json')
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(ann_file)
    cat_ids = coco.getCatIds(catNms=list(SHAPES_CLASSES))
    samples = []
    for img_id in coco.getImgIds():
        info = coco.loadImgs(img_id)[0]
        h, w = info['height'], info['width']
        anns = coco.loadAnns(coco.getAnnIds(imgIds=img_id))
        gt = np.stack([coco.annToMask(a) for a in anns]) if anns else \
            np.zeros((0, h, w), np.uint8)
        masks, labels = [], []
        for ann, mask in zip(anns, gt):
            shift = max(int(ann['bbox'][2] / 3), 1)
            masks.append(torch.from_numpy(np.roll(mask, shift, 1)).bool())
            labels.append(cat_ids.index(ann['category_id']))
        # a false positive far from everything, scored below the rest
        masks.append(_box(h, w, 0, 1, 0, 1))
        labels.append(0)
        scores = torch.tensor([0.9] * (len(masks) - 1) + [0.01])
        samples.append(
            dict(
                img_id=img_id,
                ori_shape=(h, w),
                gt_instances=dict(masks=BitmapMasks(gt, h, w)),
                pred_instances=dict(
                    masks=torch.stack(masks),
                    labels=torch.tensor(labels),
                    scores=scores,
                    bboxes=torch.zeros(len(masks), 4))))
    assert sum(len(s['pred_instances']['labels']) - 1 for s in samples) > 0
    kwargs = dict(ann_file=ann_file, metric='segm')
    before = _evaluate(CocoMetric(**kwargs), samples, SHAPES_CLASSES)
    after = _evaluate(GTMaskOracleMetric(**kwargs), samples, SHAPES_CLASSES)
    assert after['oracle/segm_mAP'] == pytest.approx(1.0)
    assert after['oracle/segm_mAP_75'] == pytest.approx(1.0)
    assert before['coco/segm_mAP_75'] < 0.5
    # the samples themselves are left as they were
    assert before == _evaluate(CocoMetric(**kwargs), samples, SHAPES_CLASSES)


def test_metric_needs_gt_masks():
    metric = GTMaskOracleMetric()
    sample = dict(
        img_id=0,
        ori_shape=(4, 4),
        pred_instances=dict(masks=torch.zeros(0, 4, 4)))
    with pytest.raises(KeyError, match='LoadAnnotations'):
        metric.process({}, [sample])

# Copyright (c) mmsolo contributors. All rights reserved.
import numpy as np
import pytest
import torch
from mmdet.structures.mask import BitmapMasks

from mmsolo.datasets import mask_contour
from mmsolo.evaluation import BoundaryFScoreMetric, match_boundaries
from mmsolo.registry import METRICS


def _square(y0, y1, x0, x1, size=40):
    mask = np.zeros((size, size), np.uint8)
    mask[y0:y1, x0:x1] = 1
    return mask


def test_tolerance_and_matching():
    gt = mask_contour(_square(10, 30, 10, 30))
    shifted = mask_contour(_square(13, 33, 10, 30))  # 3 px down
    other = mask_contour(_square(0, 4, 0, 4))
    # 3 px away: wrong at 2 px, right at 3 px (the side edges always are)
    p2, r2 = match_boundaries([shifted], np.array([0]), [gt], np.array([0]),
                              2.)
    p3, r3 = match_boundaries([shifted], np.array([0]), [gt], np.array([0]),
                              3.)
    assert 0 < p2[0] < 1 and 0 < r2[0] < 1
    assert p3[0] == pytest.approx(1) and r3[0] == pytest.approx(1)
    # one to one: the first (highest-scored) prediction takes the instance,
    # a second copy is unmatched; another class never matches
    p, r = match_boundaries([gt, gt, other], np.array([0, 0, 0]), [gt],
                            np.array([0]), 2.)
    assert p.tolist() == [1, 0, 0] and r.tolist() == [1]
    p, r = match_boundaries([gt], np.array([1]), [gt], np.array([0]), 2.)
    assert p.tolist() == [0] and r.tolist() == [0]


def _sample(pred_masks, scores, gt_masks):
    n = len(pred_masks)
    return dict(
        ori_shape=(40, 40),
        pred_instances=dict(
            masks=torch.from_numpy(np.stack(pred_masks)).bool(),
            scores=torch.tensor(scores),
            labels=torch.zeros(n, dtype=torch.long)),
        gt_instances=dict(
            masks=BitmapMasks(np.stack(gt_masks), 40, 40),
            labels=torch.zeros(len(gt_masks), dtype=torch.long)))


def test_metric_contours_and_masks():
    gts = [_square(2, 12, 2, 12), _square(20, 36, 20, 36)]
    contours = [mask_contour(m, 2) for m in gts]
    # a contour model that finds both instances, plus a low-scored false
    # positive that score_thr drops
    metric = METRICS.build(dict(type='BoundaryFScoreMetric', score_thr=0.3))
    metric.process({}, [
        _sample(contours + [mask_contour(_square(30, 38, 0, 8))],
                [0.9, 0.8, 0.1], gts)
    ])
    out = metric.evaluate(1)
    assert out == {
        'boundary/precision': 1.,
        'boundary/recall': 1.,
        'boundary/fscore': 1.
    }
    # filled masks: their contours are compared (pred_type='mask'); one of
    # two instances found, one false positive kept
    metric = BoundaryFScoreMetric(pred_type='mask', score_thr=0.)
    metric.process({},
                   [_sample([gts[0], _square(30, 38, 0, 8)], [.9, .2], gts)])
    out = metric.evaluate(1)
    assert out['boundary/precision'] == pytest.approx(0.5)
    assert out['boundary/recall'] == pytest.approx(0.5)
    assert out['boundary/fscore'] == pytest.approx(0.5)
    # filled masks taken as contours: most of their pixels are wrong
    metric = BoundaryFScoreMetric(pred_type='contour', score_thr=0.)
    metric.process({}, [_sample([gts[0]], [.9], gts[:1])])
    assert metric.evaluate(1)['boundary/precision'] < 0.9


def test_metric_errors():
    with pytest.raises(ValueError, match='pred_type'):
        BoundaryFScoreMetric(pred_type='box')
    sample = _sample([_square(0, 4, 0, 4)], [1.], [_square(0, 4, 0, 4)])
    del sample['gt_instances']
    with pytest.raises(KeyError, match='LoadAnnotations'):
        BoundaryFScoreMetric().process({}, [sample])

# Copyright (c) mmsolo contributors. All rights reserved.
import math

import pytest
import torch

from mmsolo.models.layers import mask_nms, matrix_nms


def _box_mask(y0, y1, x0, x1, size=20):
    m = torch.zeros(size, size, dtype=torch.bool)
    m[y0:y1, x0:x1] = True
    return m


@pytest.fixture
def masks():
    # a (10x10), b overlaps a with IoU 64/136, c is disjoint from both
    a = _box_mask(0, 10, 0, 10)
    b = _box_mask(2, 12, 2, 12)
    c = _box_mask(14, 20, 14, 20)
    return torch.stack([a, b, c])


def test_mask_nms_suppresses_same_class_overlaps(masks):
    labels = torch.tensor([0, 0, 0])
    scores = torch.tensor([0.9, 0.8, 0.7])
    out_scores, out_labels, out_masks, keep = mask_nms(
        masks, labels, scores, iou_thr=0.3)
    assert keep.tolist() == [0, 2]
    assert torch.equal(out_masks, masks[[0, 2]])
    # above the threshold nothing is suppressed
    keep_all = mask_nms(masks, labels, scores, iou_thr=0.5)[3]
    assert keep_all.tolist() == [0, 1, 2]
    # different classes do not suppress each other unless class agnostic
    labels = torch.tensor([0, 1, 0])
    assert mask_nms(
        masks, labels, scores, iou_thr=0.3)[3].tolist() == [0, 1, 2]
    assert mask_nms(
        masks, labels, scores, iou_thr=0.3,
        class_agnostic=True)[3].tolist() == [0, 2]


def test_mask_nms_is_greedy_and_sorted(masks):
    # b scores highest: it suppresses a; c stays; results sorted by score
    labels = torch.tensor([0, 0, 0])
    scores = torch.tensor([0.5, 0.9, 0.7])
    out_scores, _, _, keep = mask_nms(masks, labels, scores, iou_thr=0.3)
    assert keep.tolist() == [1, 2]
    assert out_scores.tolist() == pytest.approx([0.9, 0.7])
    # nms_pre, max_num and filter_thr
    assert mask_nms(masks, labels, scores, nms_pre=1)[3].tolist() == [1]
    assert mask_nms(
        masks, labels, scores, iou_thr=0.9, max_num=2)[3].tolist() == [1, 2]
    assert mask_nms(
        masks, labels, scores, iou_thr=0.9,
        filter_thr=0.6)[3].tolist() == [1, 2]


def test_matrix_nms_gaussian_decay_hand_computed(masks):
    labels = torch.tensor([0, 0, 0])
    scores = torch.tensor([0.9, 0.8, 0.7])
    out_scores, out_labels, _, keep = matrix_nms(
        masks, labels, scores, kernel='gaussian', sigma=2.0)
    iou_ab = 64 / (100 + 100 - 64)
    decayed_b = 0.8 * math.exp(-2.0 * iou_ab**2)
    expected = sorted([(0.9, 0), (decayed_b, 1), (0.7, 2)], reverse=True)
    assert keep.tolist() == [k for _, k in expected]
    assert out_scores.tolist() == pytest.approx([s for s, _ in expected])


def test_matrix_nms_linear_and_compensation():
    # c overlaps b only; b is strongly suppressed by a, so c is compensated
    a = _box_mask(0, 10, 0, 10)
    b = _box_mask(0, 10, 1, 11)
    c = _box_mask(0, 10, 6, 16)
    masks = torch.stack([a, b, c])
    labels = torch.zeros(3, dtype=torch.long)
    scores = torch.tensor([0.9, 0.8, 0.7])
    out_scores, _, _, keep = matrix_nms(masks, labels, scores, kernel='linear')
    iou = lambda p, q: (p & q).sum().item() / (p | q).sum().item()  # noqa
    d_b = (1 - iou(a, b)) / 1.0
    # c: min over suppressors of (1 - iou(i, c)) / (1 - comp_i)
    d_c = min((1 - iou(a, c)) / 1.0, (1 - iou(b, c)) / (1 - iou(a, b)))
    got = dict(zip(keep.tolist(), out_scores.tolist()))
    assert got[0] == pytest.approx(0.9)
    assert got[1] == pytest.approx(0.8 * d_b)
    assert got[2] == pytest.approx(0.7 * d_c)


def test_matrix_nms_filter_and_empty(masks):
    labels = torch.tensor([0, 1, 2])
    scores = torch.tensor([0.9, 0.04, 0.7])
    out_scores, out_labels, _, keep = matrix_nms(
        masks, labels, scores, filter_thr=0.05, max_num=5)
    assert keep.tolist() == [0, 2]
    assert out_labels.tolist() == [0, 2]
    empty = matrix_nms(masks[:0], labels[:0], scores[:0])
    assert all(len(t) == 0 for t in empty)
    with pytest.raises(ValueError, match='kernel'):
        matrix_nms(masks, labels, scores, kernel='box')

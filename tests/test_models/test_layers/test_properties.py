# Copyright (c) mmsolo contributors. All rights reserved.
"""Property tests (hypothesis) of the grid assignment and both NMS kinds on
random masks (issue 13, item 8)."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from mmengine.structures import InstanceData

from mmsolo.models.layers import mask_nms, matrix_nms
from mmsolo.models.task_modules import SOLOGridAssigner, rescale_masks

NUM_CLASSES = 3
SCALE_RANGES = ((1, 24), (12, 48), (24, 96))
STRIDES = (8, 16, 32)  # mask strides 4, 8, 16
NUM_GRIDS = (10, 6, 4)
PROFILE = settings(max_examples=60, deadline=None)


@st.composite
def rect_masks(draw, max_num: int = 6, shapes=((64, 64), (64, 96))):
    """An image size and up to ``max_num`` rectangles or random blobs."""
    h, w = draw(st.sampled_from(shapes))
    num = draw(st.integers(0, max_num))
    masks = np.zeros((num, h, w), bool)
    for k in range(num):
        y0 = draw(st.integers(0, h - 1))
        x0 = draw(st.integers(0, w - 1))
        y1 = draw(st.integers(y0 + 1, h))
        x1 = draw(st.integers(x0 + 1, w))
        masks[k, y0:y1, x0:x1] = True
        if draw(st.booleans()):  # punch random holes: not a rectangle
            seed = draw(st.integers(0, 2**16))
            keep = np.random.default_rng(seed).random((h, w)) < 0.7
            masks[k] &= keep
    labels = draw(
        st.lists(st.integers(0, NUM_CLASSES - 1), min_size=num, max_size=num))
    return masks, labels


def gt_instances(masks: np.ndarray, labels) -> InstanceData:
    """Instances with the tight boxes of their masks (xyxy)."""
    boxes = []
    for m in masks:
        ys, xs = np.nonzero(m)
        boxes.append([xs.min(), ys.min(
        ), xs.max() + 1, ys.max() + 1] if len(ys) else [0, 0, 0, 0])
    gt = InstanceData()
    gt.masks = torch.from_numpy(masks)
    gt.bboxes = torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4)
    gt.labels = torch.tensor(labels, dtype=torch.long)
    return gt


@PROFILE
@given(st.lists(rect_masks(), min_size=1, max_size=2))
def test_grid_assignment_properties(images):
    """Every positive cell belongs to an instance whose scale selects the
    level and lies within the 3x3 cells around that instance's centre
    cell; the centre cell of the last instance of a level is positive."""
    shape = images[0][0].shape[1:]
    images = [(m, lab) for m, lab in images if m.shape[1:] == shape]
    assigner = SOLOGridAssigner(NUM_CLASSES, SCALE_RANGES, STRIDES, NUM_GRIDS)
    h, w = shape
    sizes = [(h * 2 // s, w * 2 // s) for s in STRIDES]
    targets = assigner.assign_batch([gt_instances(*im) for im in images],
                                    sizes)
    for level, (t, (lower, upper), num_grid, stride) in enumerate(
            zip(targets, SCALE_RANGES, NUM_GRIDS, STRIDES)):
        for img, (masks, labels) in enumerate(images):
            gt = gt_instances(masks, labels)
            scale = torch.sqrt((gt.bboxes[:, 2] - gt.bboxes[:, 0]) *
                               (gt.bboxes[:, 3] - gt.bboxes[:, 1]))
            small = rescale_masks(gt.masks, stride / 2)
            centres = []
            for m in masks:
                ys, xs = np.nonzero(m)
                centres.append((int(ys.mean() / h * num_grid),
                                int(xs.mean() / w *
                                    num_grid)) if len(ys) else None)
            in_level = [
                k for k in range(len(masks))
                if centres[k] is not None and lower <= scale[k] <= upper
            ]
            cells = (t.img_inds == img).nonzero().flatten()
            for p in cells.tolist():
                cell = t.pos_inds[p].item()
                i, j = divmod(cell, num_grid)
                label = t.labels[img, i, j].item()
                owners = [
                    k for k in in_level
                    if labels[k] == label and abs(centres[k][0] - i) <= 1
                    and abs(centres[k][1] - j) <= 1
                    and torch.equal(t.mask_targets[p], small[k])
                ]
                assert owners, (level, img, (i, j))
            # cells that are not positive are background
            pos = torch.zeros(num_grid * num_grid, dtype=torch.bool)
            pos[t.pos_inds[cells]] = True
            assert (t.labels[img].flatten()[~pos] == NUM_CLASSES).all()
            if in_level:
                last = in_level[-1]
                i, j = centres[last]
                assert t.labels[img, i, j].item() == labels[last]


@st.composite
def nms_inputs(draw, max_num: int = 8):
    """Non-empty masks with labels and distinct scores in (0, 1]."""
    masks, labels = draw(rect_masks(max_num, shapes=((16, 16), )))
    keep = masks.any(axis=(1, 2))
    masks = masks[keep]
    labels = [lab for lab, k in zip(labels, keep) if k]
    scores = draw(
        st.lists(
            st.floats(0.01, 1.0),
            min_size=len(masks),
            max_size=len(masks),
            unique=True))
    return (torch.from_numpy(masks), torch.tensor(labels, dtype=torch.long),
            torch.tensor(scores, dtype=torch.float32))


def run_nms(kind: str, masks, labels, scores, **kwargs):
    if kind == 'mask':
        return mask_nms(masks, labels, scores, iou_thr=0.5, **kwargs)
    return matrix_nms(masks, labels, scores, kernel=kind, **kwargs)


KINDS = ['mask', 'gaussian', 'linear']


@PROFILE
@given(nms_inputs(), st.sampled_from(KINDS))
def test_nms_scores_sorted_and_never_above_inputs(inputs, kind):
    masks, labels, scores = inputs
    out_scores, out_labels, out_masks, keep = run_nms(kind, masks, labels,
                                                      scores)
    assert torch.isfinite(out_scores).all(), out_scores
    assert (out_scores[:-1] >= out_scores[1:]).all()
    assert (out_scores <= scores[keep] + 1e-6).all()
    assert torch.equal(out_labels, labels[keep])
    assert torch.equal(out_masks, masks[keep])
    assert len(set(keep.tolist())) == len(keep)


@PROFILE
@given(nms_inputs(max_num=5), st.sampled_from(KINDS), st.data())
def test_nms_suppresses_exact_duplicates(inputs, kind, data):
    """A copy of the highest-scored mask, same class, lower score: mask NMS
    drops it; Matrix NMS decays it by at least the kernel's full-overlap
    factor (to zero with the linear kernel)."""
    masks, labels, scores = inputs
    if len(masks) == 0:
        return
    top = int(scores.argmax())
    dup_score = data.draw(st.floats(0.0, 0.99)) * scores[top].item()
    masks = torch.cat([masks, masks[top:top + 1]])
    labels = torch.cat([labels, labels[top:top + 1]])
    scores = torch.cat([scores, torch.tensor([dup_score])])
    dup = len(masks) - 1
    out_scores, _, _, keep = run_nms(kind, masks, labels, scores)
    kept = dict(zip(keep.tolist(), out_scores.tolist()))
    if kind == 'mask':
        assert dup not in kept
    elif kind == 'linear':
        assert kept[dup] <= 1e-6
    else:
        assert kept[dup] <= dup_score * math.exp(-2.0) + 1e-6
    assert top in kept  # the original stays, undecayed
    assert kept[top] == scores[top].item()


@PROFILE
@given(st.integers(1, 6), st.sampled_from(KINDS), st.data())
def test_nms_keeps_disjoint_masks(num, kind, data):
    """Pairwise disjoint masks (here: distinct pixels of one image) are all
    kept with their scores, whatever their classes."""
    size = 12
    order = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    owner = order.integers(0, num, size * size)
    owner[:num] = np.arange(num)  # none is empty
    masks = torch.from_numpy(
        np.stack([(owner == k).reshape(size, size) for k in range(num)]))
    labels = torch.tensor(
        data.draw(st.lists(st.integers(0, 1), min_size=num, max_size=num)))
    scores = torch.tensor(
        data.draw(
            st.lists(
                st.floats(0.01, 1.0), min_size=num, max_size=num,
                unique=True)),
        dtype=torch.float32)
    out_scores, _, _, keep = run_nms(kind, masks, labels, scores)
    assert sorted(keep.tolist()) == list(range(num))
    torch.testing.assert_close(out_scores, scores[keep])
    assert torch.equal(keep, torch.argsort(scores, descending=True))


# Two failures these properties found in matrix_nms (mmdet's has them too):
# (1 - 1) / (1 - 1) = NaN for the third of three identical masks with the
# linear kernel (the NaN sorted first), and IoU 0 / 0 = NaN for two empty
# masks of a class.
@PROFILE
@given(nms_inputs(max_num=4), st.integers(3, 4))
def test_linear_matrix_nms_repeated_duplicates_stay_finite(inputs, copies):
    masks, labels, scores = inputs
    if len(masks) == 0:
        return
    masks = torch.cat([masks, masks[:1].expand(copies - 1, -1, -1)])
    labels = torch.cat([labels, labels[:1].expand(copies - 1)])
    scores = torch.cat([scores, scores[:1] * 0.5**torch.arange(1, copies)])
    out_scores = matrix_nms(masks, labels, scores, kernel='linear')[0]
    assert torch.isfinite(out_scores).all(), out_scores
    # the copies of the top mask are suppressed to 0
    assert (out_scores == 0).sum() >= copies - 1


@pytest.mark.parametrize('kernel', ['gaussian', 'linear'])
def test_matrix_nms_empty_masks_stay_finite(kernel):
    masks = torch.zeros(2, 8, 8, dtype=torch.bool)
    out_scores = matrix_nms(
        masks,
        torch.zeros(2, dtype=torch.long),
        torch.tensor([0.9, 0.8]),
        kernel=kernel)[0]
    assert torch.isfinite(out_scores).all(), out_scores

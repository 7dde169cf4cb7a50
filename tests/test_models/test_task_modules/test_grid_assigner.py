# Copyright (c) mmsolo contributors. All rights reserved.
import mmcv
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from mmsolo.models.task_modules import (SOLOGridAssigner, center_of_mass,
                                        rescale_masks)


def _gt(masks, labels):
    masks = torch.as_tensor(np.asarray(masks), dtype=torch.bool)
    boxes = []
    for m in masks:
        ys, xs = torch.nonzero(m, as_tuple=True)
        if len(ys):
            boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
        else:
            boxes.append([0, 0, 0, 0])
    gt = InstanceData()
    gt.masks = masks
    gt.bboxes = torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4)
    gt.labels = torch.tensor(labels, dtype=torch.long)
    return gt


def _assigner(**kw):
    args = dict(
        num_classes=3,
        scale_ranges=((1, 64), ),
        strides=(8, ),
        num_grids=(4, ),
        pos_scale=0.2)
    args.update(kw)
    return SOLOGridAssigner(**args)


def test_center_region_hand_computed():
    # 64 x 64 image, 4 x 4 grid (16 px cells), mask stride 4 -> 16 x 16.
    mask = np.zeros((1, 64, 64), np.uint8)
    mask[0, 20:44, 4:36] = 1  # 24 x 32 box, centre (31.5, 19.5)
    (level, ) = _assigner().assign(_gt(mask, [2]), [(16, 16)])
    # centre cell (1, 1); eps-region: rows (31.5 +- 2.4)/16 -> 1..2,
    # cols (19.5 +- 3.2)/16 -> 1..1
    expected = torch.full((4, 4), 3)
    expected[1:3, 1] = 2
    assert torch.equal(level.labels, expected)
    assert level.pos_inds.tolist() == [5, 9]
    assert level.mask_targets.shape == (2, 16, 16)
    small = torch.from_numpy(mmcv.imrescale(mask[0], 0.25))
    assert torch.equal(level.mask_targets[0], small)
    assert torch.equal(level.mask_targets[1], small)


def test_clamped_to_three_by_three_around_centre():
    # a huge eps makes the region the whole grid: it must be clamped
    mask = np.zeros((1, 64, 64), np.uint8)
    mask[0, 8:56, 8:56] = 1
    (level, ) = _assigner(
        pos_scale=10., num_grids=(8, )).assign(_gt(mask, [0]), [(16, 16)])
    pos = (level.labels != 3).nonzero().tolist()
    # centre (31.5, 31.5) -> cell (3, 3); clamped to rows/cols 2..4
    assert sorted(map(tuple, pos)) == [(i, j) for i in range(2, 5)
                                       for j in range(2, 5)]


def test_scale_ranges_route_instances_to_levels():
    masks = np.zeros((2, 64, 64), np.uint8)
    masks[0, 0:8, 0:8] = 1  # sqrt(area) 8
    masks[1, 10:58, 10:58] = 1  # 48
    assigner = _assigner(
        scale_ranges=((1, 16), (32, 64)), strides=(8, 16), num_grids=(4, 4))
    low, high = assigner.assign(_gt(masks, [0, 1]), [(16, 16), (8, 8)])
    assert set(low.labels.unique().tolist()) == {0, 3}
    assert set(high.labels.unique().tolist()) == {1, 3}
    assert high.mask_targets.shape[1:] == (8, 8)


def test_empty_and_zero_area_and_border():
    assigner = _assigner()
    empty = assigner.assign(_gt(np.zeros((0, 64, 64)), []), [(16, 16)])[0]
    assert (empty.labels == 3).all() and len(empty.pos_inds) == 0
    assert empty.mask_targets.shape == (0, 16, 16)
    # zero-area mask with a non-degenerate box is skipped
    gt = _gt(np.zeros((1, 64, 64)), [1])
    gt.bboxes = torch.tensor([[0., 0., 20., 20.]])
    zero = assigner.assign(gt, [(16, 16)])[0]
    assert len(zero.pos_inds) == 0
    # a mask touching the bottom-right border is assigned inside the grid
    mask = np.zeros((1, 64, 64), np.uint8)
    mask[0, 40:, 40:] = 1
    border = assigner.assign(_gt(mask, [1]), [(16, 16)])[0]
    assert len(border.pos_inds) > 0
    assert (border.pos_inds < 16).all()
    assert border.labels[3, 3] == 1


def test_later_instance_wins_overlapping_cells():
    masks = np.zeros((2, 64, 64), np.uint8)
    masks[0, 16:48, 16:48] = 1
    masks[1, 20:44, 20:44] = 1  # same centre
    level = _assigner().assign(_gt(masks, [0, 1]), [(16, 16)])[0]
    assert set(level.labels[level.labels != 3].tolist()) == {1}
    small = torch.from_numpy(mmcv.imrescale(masks[1], 0.25))
    for target in level.mask_targets:
        assert torch.equal(target, small)


def test_center_of_mass_and_rescale_match_reference():
    rng = np.random.default_rng(0)
    masks = rng.random((3, 64, 96)) < 0.3
    ch, cw = center_of_mass(torch.from_numpy(masks))
    for k in range(3):
        ys, xs = np.nonzero(masks[k])
        assert ch[k].item() == pytest.approx(ys.mean(), rel=1e-5)
        assert cw[k].item() == pytest.approx(xs.mean(), rel=1e-5)
    for stride in (4, 8, 16):
        ours = rescale_masks(torch.from_numpy(masks), stride)
        ref = np.stack(
            [mmcv.imrescale(m.astype(np.uint8), 1 / stride) for m in masks])
        assert np.array_equal(ours.numpy(), ref)
    odd = torch.from_numpy(masks[:, :61, :90])
    ref = np.stack(
        [mmcv.imrescale(m.astype(np.uint8), 1 / 4) for m in odd.numpy()])
    assert np.array_equal(rescale_masks(odd, 4).numpy(), ref)


def test_soft_rescale_gives_area_fractions():
    masks = torch.zeros(1, 8, 8, dtype=torch.bool)
    masks[0, :, :6] = True  # 6 of the 8 columns
    soft = rescale_masks(masks, 4, soft=True)
    assert soft.dtype == torch.float32
    torch.testing.assert_close(soft[0], torch.tensor([[1., .5], [1., .5]]))
    rng = np.random.default_rng(1)
    masks = torch.from_numpy(rng.random((3, 64, 96)) < 0.3)
    # area fractions keep the area; halving is where bilinear + threshold
    # (the binary targets) samples the same 2x2 means
    soft = rescale_masks(masks, 4, soft=True)
    torch.testing.assert_close(
        soft.sum((1, 2)) * 16,
        masks.sum((1, 2)).float())
    half = rescale_masks(masks, 2, soft=True)
    assert torch.equal((half >= 0.5).to(torch.uint8), rescale_masks(masks, 2))
    assert rescale_masks(masks[:0], 4, soft=True).shape == (0, 16, 24)


@pytest.mark.parametrize('mask_upsample', [2, 4])
def test_soft_targets_and_mask_stride(mask_upsample):
    masks = np.zeros((1, 64, 64), np.uint8)
    masks[0, 17:43, 21:39] = 1
    size = 64 * mask_upsample // 8  # stride 8: masks at 8 / mask_upsample
    binary = _assigner(mask_upsample=mask_upsample).assign(
        _gt(masks, [2]), [(size, size)])[0]
    soft = _assigner(
        mask_upsample=mask_upsample,
        soft_mask_targets=True).assign(_gt(masks, [2]), [(size, size)])[0]
    assert torch.equal(soft.pos_inds, binary.pos_inds)
    assert torch.equal(soft.labels, binary.labels)
    assert binary.mask_targets.dtype == torch.uint8
    assert soft.mask_targets.dtype == torch.float32
    assert soft.mask_targets.shape == binary.mask_targets.shape == (len(
        binary.pos_inds), size, size)
    stride = 8 / mask_upsample
    expected = rescale_masks(torch.from_numpy(masks), stride, soft=True)
    for target in soft.mask_targets:
        torch.testing.assert_close(target, expected[0])
    # the boundary falls inside mask pixels: fractions strictly inside (0, 1)
    assert ((soft.mask_targets > 0) & (soft.mask_targets < 1)).any()
    empty = _assigner(soft_mask_targets=True).assign(
        _gt(np.zeros((0, 64, 64)), []), [(16, 16)])[0]
    assert empty.mask_targets.dtype == torch.float32


def _random_gt(rng, num, size=64, num_classes=3):
    masks = np.zeros((num, size, size), np.uint8)
    for m in masks:
        h, w = rng.integers(2, size // 2, 2)
        y, x = rng.integers(0, size - h), rng.integers(0, size - w)
        m[y:y + h, x:x + w] = 1
    return _gt(masks, rng.integers(0, num_classes, num).tolist())


@pytest.mark.parametrize('soft', [False, True])
def test_assign_batch_equals_per_image(soft):
    """Batched assignment = image by image, also with empty images and
    with instances of different images on the same cells."""
    rng = np.random.default_rng(0)
    assigner = _assigner(
        scale_ranges=((1, 24), (12, 64)),
        strides=(8, 16),
        num_grids=(8, 4),
        soft_mask_targets=soft)
    sizes = [(16, 16), (8, 8)]
    batch = [_random_gt(rng, n) for n in (5, 0, 7, 1)]
    batch.append(_gt(batch[0].masks.numpy(), [2, 1, 0, 2, 1]))  # same places
    out = assigner.assign_batch(batch, sizes)
    for level, t in enumerate(out):
        assert t.labels.shape == (len(batch), *[assigner.num_grids[level]] * 2)
        num_pos = 0
        for i, gt in enumerate(batch):
            single = assigner.assign(gt, sizes)[level]
            sel = t.img_inds == i
            assert torch.equal(t.labels[i], single.labels)
            assert torch.equal(t.pos_inds[sel], single.pos_inds)
            assert torch.equal(t.mask_targets[sel], single.mask_targets)
            num_pos += len(single.pos_inds)
        assert len(t.pos_inds) == num_pos
        # ordered by image, then by cell
        key = t.img_inds * 1000 + t.pos_inds
        assert torch.equal(key, key.sort().values)
    # the images on the same places got their own labels
    assert torch.equal(out[0].labels[0] == 3, out[0].labels[4] == 3)
    assert not torch.equal(out[0].labels[0], out[0].labels[4]) or \
        not (out[0].labels[0] < 3).any()
    # masks of different sizes in one batch: a clear error
    with pytest.raises(ValueError, match='one size'):
        assigner.assign_batch(
            [_random_gt(rng, 2),
             _random_gt(rng, 2, size=32)], sizes)


def test_head_builds_its_assigner_from_train_cfg():
    from ..test_dense_heads.test_solo_heads import build_head
    head = build_head('SOLOHead')
    # today's values by default, from the head's arguments
    assert type(head.assigner) is SOLOGridAssigner
    assert head.assigner.num_grids == head.num_grids
    assert head.assigner.scale_ranges == head.scale_ranges
    assert head.assigner.pos_scale == 0.2
    assert head.assigner.mask_strides == [s / 2 for s in head.strides]
    # train_cfg.assigner overrides them, through TASK_UTILS
    head = build_head(
        'SOLOHead',
        train_cfg=dict(assigner=dict(pos_scale=0.5, soft_mask_targets=True)))
    assert head.assigner.pos_scale == 0.5
    assert head.assigner.target_dtype == torch.float32
    assert head.assigner.num_grids == head.num_grids
    with pytest.raises(KeyError, match='NoSuchAssigner'):
        build_head(
            'SOLOHead', train_cfg=dict(assigner=dict(type='NoSuchAssigner')))


def test_all_instances_keeps_every_covering_instance():
    # two instances of one level whose centre regions share cells
    masks = np.zeros((2, 64, 64), np.uint8)
    masks[0, 10:40, 10:40] = 1
    masks[1, 12:42, 12:42] = 1
    gt = _gt(masks, [0, 1])
    last = _assigner(pos_scale=1.).assign(gt, [(16, 16)])
    every = _assigner(pos_scale=1., all_instances=True).assign(gt, [(16, 16)])
    for a, b in zip(last, every):
        assert torch.equal(a.labels, b.labels)  # labels: the last instance
        assert set(b.pos_inds.tolist()) == set(a.pos_inds.tolist())
    level = next(i for i, t in enumerate(last) if len(t.pos_inds))
    a, b = last[level], every[level]
    assert len(b.pos_inds) > len(a.pos_inds)  # shared cells: one per inst.
    assert (b.pos_inds[1:] >= b.pos_inds[:-1]).all()
    shared = [c for c in b.pos_inds.unique() if (b.pos_inds == c).sum() == 2]
    for cell in shared:
        rows = (b.pos_inds == cell).nonzero().flatten()
        # instance 0's target, then instance 1's (the last, as in `last`)
        assert not torch.equal(b.mask_targets[rows[0]],
                               b.mask_targets[rows[1]])
        own = (a.pos_inds == cell).nonzero().flatten()[0]
        assert torch.equal(b.mask_targets[rows[1]], a.mask_targets[own])

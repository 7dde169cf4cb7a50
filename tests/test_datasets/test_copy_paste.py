# Copyright (c) mmsolo contributors. All rights reserved.
import numpy as np
import pytest
import torch
from mmdet.datasets.transforms import CopyPaste
from mmdet.structures.bbox import HorizontalBoxes
from mmdet.structures.mask import BitmapMasks, PolygonMasks

from mmsolo.datasets.transforms import CachedCopyPaste
from mmsolo.registry import TRANSFORMS
from mmsolo.utils.setup_env import register_all_modules

register_all_modules()


def _results(boxes, labels, value, size=32):
    """An image of ``value`` with one rectangular mask per box."""
    masks = np.zeros((len(boxes), size, size), np.uint8)
    for mask, (x1, y1, x2, y2) in zip(masks, boxes):
        mask[y1:y2, x1:x2] = 1
    return dict(
        img=np.full((size, size, 3), value, np.uint8),
        gt_bboxes=HorizontalBoxes(
            torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4)),
        gt_bboxes_labels=np.array(labels, np.int64),
        gt_masks=BitmapMasks(masks, size, size),
        gt_ignore_flags=np.zeros(len(boxes), bool))


def _dst():
    # one box the pasted ones hide, one whose top 4 rows they cover (its box
    # moves by more than 2 pixels, 60 pixels stay visible), one they miss
    return _results([[2, 2, 8, 8], [10, 10, 20, 20], [24, 24, 30, 30]],
                    [0, 1, 2], 10)


def _src():
    return _results([[0, 0, 9, 9], [10, 10, 20, 14]], [3, 4], 200)


THR = dict(bbox_occluded_thr=2, mask_occluded_thr=10)


def test_pastes_as_mmdet_does_in_the_image_type():
    out = CachedCopyPaste(**THR)._copy_paste(_dst(), _src())
    ref = CopyPaste(**THR)._copy_paste(_dst(), _src())
    assert out['gt_bboxes_labels'].tolist() == [1, 2, 3, 4]
    np.testing.assert_array_equal(out['gt_bboxes'].tensor[0], [10, 14, 20, 20])
    assert out['gt_masks'].masks[0].sum() == 10 * 6
    for key in ('img', 'gt_bboxes_labels', 'gt_ignore_flags'):
        np.testing.assert_array_equal(out[key], ref[key])
    np.testing.assert_array_equal(out['gt_masks'].masks, ref['gt_masks'].masks)
    torch.testing.assert_close(out['gt_bboxes'].tensor,
                               ref['gt_bboxes'].tensor)
    assert ref['img'].dtype == np.int64  # mmdet's blend
    assert out['img'].dtype == out['gt_masks'].masks.dtype == np.uint8
    assert out['img'][0, 0, 0] == 200 and out['img'][31, 31, 0] == 10


def test_pastes_from_the_images_seen_before():
    paste = TRANSFORMS.build(
        dict(type='CachedCopyPaste', selected=False, **THR))
    first = paste(_src())  # nothing seen yet: unchanged
    assert first['gt_bboxes_labels'].tolist() == [3, 4]
    assert (first['img'] == 200).all()
    second = paste(_dst())  # gets the first image's objects
    assert second['gt_bboxes_labels'].tolist() == [1, 2, 3, 4]
    # the cache keeps copies: what happens to the results later
    first['img'][:] = 0
    first['gt_masks'].masks[:] = 0
    kept = paste._images[0]
    assert (kept['img'] == 200).all() and kept['gt_masks'].masks.any()


def test_only_same_size_sources_prob_and_the_cache_bound():
    paste = CachedCopyPaste(selected=False, max_cached_images=3, **THR)
    paste(_results([[0, 0, 40, 40]], [3], 200, size=48))
    out = paste(_dst())  # only a 48-pixel image seen: nothing pasted
    assert out['gt_bboxes_labels'].tolist() == [0, 1, 2]
    for _ in range(5):
        paste(_dst())
    assert len(paste._images) == 3
    never = CachedCopyPaste(prob=0., selected=False, **THR)
    never(_src())
    assert never(_dst())['gt_bboxes_labels'].tolist() == [0, 1, 2]


def test_selected_pastes_a_subset_and_keeps_the_cache():
    counts = set()
    for seed in range(12):
        paste = CachedCopyPaste(**THR)
        paste(_src())
        np.random.seed(seed)
        counts.add(len(paste(_dst())['gt_bboxes_labels']))
        assert len(paste._images[0]['gt_bboxes_labels']) == 2
    # none pasted, or the first source object (which hides one): 3 objects;
    # the second (with or without the first): 4
    assert counts == {3, 4}


def test_clear_errors():
    polygons = _dst()
    polygons['gt_masks'] = PolygonMasks([[np.zeros(6)]] * 3, 32, 32)
    with pytest.raises(TypeError, match='poly2mask=True'):
        CachedCopyPaste()(polygons)
    with pytest.raises(ValueError, match='max_cached_images'):
        CachedCopyPaste(max_cached_images=0)
    with pytest.raises(ValueError, match='prob'):
        CachedCopyPaste(prob=1.5)


def test_the_cache_is_not_changed_by_later_in_place_transforms():
    """``RandomFlip`` flips the boxes in place: the cached image keeps its
    own boxes (the image it passed on was not pasted onto)."""
    paste = CachedCopyPaste(**THR)
    flip = TRANSFORMS.build(
        dict(type='mmdet.RandomFlip', prob=1., direction='horizontal'))
    flip(paste(_src()))
    kept = paste._images[0]
    np.testing.assert_array_equal(kept['gt_bboxes'].tensor,
                                  _src()['gt_bboxes'].tensor)
    np.testing.assert_array_equal(
        kept['gt_bboxes'].tensor,
        kept['gt_masks'].get_bboxes(HorizontalBoxes).tensor)

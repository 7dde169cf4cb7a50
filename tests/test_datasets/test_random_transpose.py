# Copyright (c) mmsolo contributors. All rights reserved.
import numpy as np
import pytest
import torch
from mmdet.structures.bbox import HorizontalBoxes
from mmdet.structures.mask import BitmapMasks, PolygonMasks

from mmsolo.datasets import RandomTranspose
from mmsolo.registry import TRANSFORMS


def _results():
    # a 20x30 image with one rectangle and one triangle of different colours
    img = np.zeros((20, 30, 3), np.uint8)
    img[2:5, 10:20] = (255, 0, 0)
    tri = [np.array([22., 8., 28., 8., 25., 18.])]
    rect = [np.array([10., 2., 20., 2., 20., 5., 10., 5.])]
    polys = PolygonMasks([rect, tri], 20, 30)
    return dict(
        img=img,
        img_shape=(20, 30),
        gt_bboxes=HorizontalBoxes(
            torch.tensor([[10., 2., 20., 5.], [22., 8., 28., 18.]])),
        gt_masks=polys,
        gt_seg_map=(img[..., 0] > 0).astype(np.uint8))


def test_transpose_swaps_axes_of_everything():
    res = _results()
    bitmaps = res['gt_masks'].to_ndarray()
    out = RandomTranspose(prob=1.0)(dict(res))
    assert out['transpose'] is True
    assert out['img'].shape == (30, 20, 3)
    assert out['img_shape'] == (30, 20)
    np.testing.assert_array_equal(out['img'], res['img'].transpose(1, 0, 2))
    np.testing.assert_array_equal(out['gt_seg_map'], res['gt_seg_map'].T)
    assert out['gt_bboxes'].tensor.tolist() == [[2., 10., 5., 20.],
                                                [8., 22., 18., 28.]]
    # polygons stay polygons and rasterise to the transposed bitmaps
    assert isinstance(out['gt_masks'], PolygonMasks)
    assert (out['gt_masks'].height, out['gt_masks'].width) == (30, 20)
    np.testing.assert_array_equal(out['gt_masks'].to_ndarray(),
                                  bitmaps.transpose(0, 2, 1))
    # the boxes still enclose the masks
    torch.testing.assert_close(out['gt_masks'].get_bboxes('hbox').tensor,
                               out['gt_bboxes'].tensor)


def test_bitmap_masks_and_double_transpose_is_identity():
    res = _results()
    res['gt_masks'] = BitmapMasks(res['gt_masks'].to_ndarray(), 20, 30)
    t = RandomTranspose(prob=1.0)
    once = t(dict(res))
    assert isinstance(once['gt_masks'], BitmapMasks)
    twice = t(dict(once))
    np.testing.assert_array_equal(twice['img'], res['img'])
    np.testing.assert_array_equal(twice['gt_masks'].masks,
                                  res['gt_masks'].masks)
    torch.testing.assert_close(twice['gt_bboxes'].tensor,
                               res['gt_bboxes'].tensor)


def test_probability_and_bad_input():
    res = _results()
    out = RandomTranspose(prob=0.0)(dict(res))
    assert out['transpose'] is False
    assert out['img'] is res['img']
    np.random.seed(0)
    t = TRANSFORMS.build(dict(type='RandomTranspose', prob=0.5))
    draws = [t(dict(res))['transpose'] for _ in range(200)]
    assert 60 < sum(draws) < 140
    with pytest.raises(ValueError, match='prob'):
        RandomTranspose(prob=1.5)
    res['gt_masks'] = np.zeros((2, 20, 30))
    with pytest.raises(TypeError, match='BitmapMasks or PolygonMasks'):
        RandomTranspose(prob=1.0)(res)

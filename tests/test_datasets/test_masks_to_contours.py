# Copyright (c) mmsolo contributors. All rights reserved.
import numpy as np
import pytest
from mmdet.structures.mask import BitmapMasks, PolygonMasks

from mmsolo.datasets import MasksToContours, mask_contour
from mmsolo.registry import TRANSFORMS


def _square(h=20, w=20, y0=5, y1=15, x0=4, x1=16):
    mask = np.zeros((h, w), np.uint8)
    mask[y0:y1, x0:x1] = 1
    return mask


@pytest.mark.parametrize('thickness', [1, 2, 3])
def test_contour_is_a_band_inside_the_mask(thickness):
    mask = _square()
    contour = mask_contour(mask, thickness)
    assert contour.dtype == np.uint8
    assert not (contour & (1 - mask)).any()  # inside the mask
    # the outer ring of the 10 x 12 square, `thickness` pixels wide
    inner = np.zeros_like(mask)
    t = thickness
    inner[5 + t:15 - t, 4 + t:16 - t] = 1
    np.testing.assert_array_equal(contour, mask - inner)


def test_holes_and_empty_masks():
    mask = _square()
    mask[9:11, 9:11] = 0  # a hole: its border is a contour too
    assert mask_contour(mask).sum() == 40 + 8
    assert mask_contour(mask, external_only=True).sum() == 40
    assert mask_contour(np.zeros((5, 5), np.uint8)).sum() == 0


def test_transform_polygons_and_bitmaps():
    transform = TRANSFORMS.build(dict(type='MasksToContours', thickness=2))
    assert isinstance(transform, MasksToContours)
    square = [np.array([4., 5., 16., 5., 16., 15., 4., 15.])]
    for masks in (BitmapMasks(_square()[None], 20,
                              20), PolygonMasks([square], 20, 20)):
        filled = masks.to_ndarray()[0]
        out = transform(dict(gt_masks=masks))['gt_masks']
        assert isinstance(out, BitmapMasks) and out.masks.shape == (1, 20, 20)
        np.testing.assert_array_equal(out.masks[0], mask_contour(filled, 2))
        assert 0 < out.masks.sum() < filled.sum()
    empty = transform(dict(gt_masks=BitmapMasks(np.zeros((0, 8, 9)), 8, 9)))
    assert empty['gt_masks'].masks.shape == (0, 8, 9)
    assert transform(dict(img=1)) == dict(img=1)
    with pytest.raises(ValueError, match='thickness'):
        MasksToContours(thickness=0)

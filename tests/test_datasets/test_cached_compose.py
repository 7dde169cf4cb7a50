# Copyright (c) mmsolo contributors. All rights reserved.
import cv2
import numpy as np
import pytest
import torch
from mmcv.transforms import Compose

from mmsolo.datasets.transforms.cached_compose import CachedCompose, nbytes
from mmsolo.registry import TRANSFORMS
from mmsolo.utils.setup_env import register_all_modules

register_all_modules()


class Counter:
    """Counts its calls; drops the samples named in ``drop``."""

    def __init__(self, drop=()):
        self.calls = 0
        self.drop = set(drop)

    def __call__(self, results):
        self.calls += 1
        return None if results['img_path'] in self.drop else results


def _images(tmp_path, n=3):
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        path = str(tmp_path / f'{i}.png')
        cv2.imwrite(path, rng.integers(0, 255, (40, 50, 3), dtype=np.uint8))
        paths.append(path)
    return paths


def _load_and_resize():
    return [
        dict(type='LoadImageFromFile'),
        dict(type='mmdet.Resize', scale=(32, 32), keep_ratio=True)
    ]


def test_same_results_as_without_cache_and_each_image_loaded_once(tmp_path):
    paths = _images(tmp_path)
    counter = Counter()
    cached = CachedCompose([counter] + _load_and_resize())
    plain = Compose(_load_and_resize())
    for _ in range(3):  # epochs
        for i, path in enumerate(paths):
            out = cached(dict(img_path=path, sample_idx=i))
            ref = plain(dict(img_path=path, sample_idx=i))
            np.testing.assert_array_equal(out['img'], ref['img'])
            assert out['img_shape'] == ref['img_shape'] == (26, 32)
            np.testing.assert_allclose(out['scale_factor'],
                                       ref['scale_factor'])
            assert out['sample_idx'] == i
    assert counter.calls == len(paths)


def test_outputs_are_copies(tmp_path):
    path = _images(tmp_path, 1)[0]
    cached = TRANSFORMS.build(
        dict(type='CachedCompose', transforms=_load_and_resize()))
    first = cached(dict(img_path=path))
    kept = first['img'].copy()
    first['img'][:] = 0  # a later transform writing in place
    again = cached(dict(img_path=path))
    np.testing.assert_array_equal(again['img'], kept)
    again['img'][:] = 1
    np.testing.assert_array_equal(cached(dict(img_path=path))['img'], kept)


def test_max_mb_bounds_the_cache(tmp_path):
    paths = _images(tmp_path)
    one = Compose(_load_and_resize())(dict(img_path=paths[0]))
    size = nbytes(one['img']) + nbytes(one['homography_matrix'])
    assert size >= 26 * 32 * 3
    counter = Counter()
    cached = CachedCompose(
        [counter] + _load_and_resize(), max_mb=1.5 * size / 2**20)
    for _ in range(2):
        for path in paths:
            cached(dict(img_path=path))
    # the first image is kept; the other two run the transforms each time
    assert counter.calls == 1 + 2 * 2
    with pytest.raises(ValueError, match='max_mb'):
        CachedCompose(_load_and_resize(), max_mb=-1)


def test_nbytes_counts_arrays_masks_and_boxes():
    from mmdet.structures.bbox import HorizontalBoxes
    from mmdet.structures.mask import BitmapMasks
    masks = BitmapMasks(np.zeros((2, 4, 5), np.uint8), 4, 5)
    boxes = HorizontalBoxes(torch.zeros(3, 4))
    assert nbytes(dict(m=masks, b=[boxes, 'text', 1.0])) == 40 + 48


def test_dropped_samples_are_not_cached(tmp_path):
    paths = _images(tmp_path, 2)
    counter = Counter(drop=[paths[0]])
    cached = CachedCompose([counter] + _load_and_resize())
    assert cached(dict(img_path=paths[0])) is None
    assert cached(dict(img_path=paths[0])) is None
    assert counter.calls == 2


def test_names_the_missing_key():
    with pytest.raises(KeyError, match='img_path'):
        CachedCompose(_load_and_resize())(dict(filename='a.png'))


def test_keys_removed_by_the_transforms_stay_removed(tmp_path):
    path = _images(tmp_path, 1)[0]

    def drop_note(results):
        results.pop('note')
        return results

    cached = CachedCompose(_load_and_resize() + [drop_note])
    for _ in range(2):
        out = cached(dict(img_path=path, note='x', sample_idx=7))
        assert 'note' not in out and out['sample_idx'] == 7
        assert out['img'].shape == (26, 32, 3)

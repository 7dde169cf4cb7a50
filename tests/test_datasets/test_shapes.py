# Copyright (c) mmsolo contributors. All rights reserved.
import importlib.util
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from mmsolo.datasets.shapes import (META_FILE, SHAPES_CLASSES,
                                    default_size_ranges, ensure_shapes_dataset,
                                    make_shapes_dataset, mask_to_polygons)

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONVEX_CLASSES = ('circle', 'square', 'triangle')


def _load(root, split):
    with open(osp.join(root, f'{split}.json')) as f:
        return json.load(f)


def _decode(ann, h, w):
    rles = mask_utils.frPyObjects(ann['segmentation'], h, w)
    return mask_utils.decode(mask_utils.merge(rles)).astype(bool)


def _sizes(coco):
    return np.array(
        [np.sqrt(a['bbox'][2] * a['bbox'][3]) for a in coco['annotations']])


def test_deterministic_for_a_seed(tmp_path):
    kwargs = dict(num_train=3, num_val=2, img_size=(96, 112), progress=False)
    make_shapes_dataset(str(tmp_path / 'a'), seed=3, **kwargs)
    make_shapes_dataset(str(tmp_path / 'b'), seed=3, **kwargs)
    make_shapes_dataset(str(tmp_path / 'c'), seed=4, **kwargs)
    for split in ('train', 'val'):
        a = (tmp_path / 'a' / f'{split}.json').read_bytes()
        b = (tmp_path / 'b' / f'{split}.json').read_bytes()
        c = (tmp_path / 'c' / f'{split}.json').read_bytes()
        assert a == b
        assert a != c
        names = sorted(os.listdir(tmp_path / 'a' / split))
        assert names == sorted(os.listdir(tmp_path / 'b' / split))
        assert len(names) == (3 if split == 'train' else 2)
        for name in names:
            img_a = cv2.imread(str(tmp_path / 'a' / split / name))
            img_b = cv2.imread(str(tmp_path / 'b' / split / name))
            img_c = cv2.imread(str(tmp_path / 'c' / split / name))
            assert img_a.shape == (96, 112, 3)
            np.testing.assert_array_equal(img_a, img_b)
            assert not np.array_equal(img_a, img_c)


def test_worker_processes_give_the_same_set(tmp_path):
    # more than 16 images: drawn by a pool of 2 processes
    kwargs = dict(num_train=18, num_val=2, img_size=(64, 64), progress=False)
    serial = make_shapes_dataset(
        str(tmp_path / 'serial'), num_workers=0, **kwargs)
    pooled = make_shapes_dataset(
        str(tmp_path / 'pooled'), num_workers=2, **kwargs)
    assert serial['stats'] == pooled['stats']
    for split in ('train', 'val'):
        assert ((tmp_path / 'serial' / f'{split}.json').read_bytes() == (
            tmp_path / 'pooled' / f'{split}.json').read_bytes())
        names = sorted(os.listdir(tmp_path / 'serial' / split))
        assert names == sorted(os.listdir(tmp_path / 'pooled' / split))
        for name in names:
            a = (tmp_path / 'serial' / split / name).read_bytes()
            assert a == (tmp_path / 'pooled' / split / name).read_bytes()


def test_coco_format_and_masks(shapes_data_root):
    for split, num in (('train', 8), ('val', 4)):
        ann_file = osp.join(shapes_data_root, f'{split}.json')
        coco = COCO(ann_file)
        cats = coco.loadCats(coco.getCatIds())
        assert [c['id']
                for c in cats] == list(range(1,
                                             len(SHAPES_CLASSES) + 1))
        assert tuple(c['name'] for c in cats) == SHAPES_CLASSES
        assert len(coco.getImgIds()) == num
        assert len(coco.getAnnIds()) > 0
        for ann in coco.loadAnns(coco.getAnnIds()):
            img = coco.imgs[ann['image_id']]
            h, w = img['height'], img['width']
            assert (h, w) == (128, 128)
            assert osp.isfile(
                osp.join(shapes_data_root, split, img['file_name']))
            assert ann['iscrowd'] == 0
            assert isinstance(ann['segmentation'], list)
            for poly in ann['segmentation']:
                assert len(poly) >= 6 and len(poly) % 2 == 0
            mask = coco.annToMask(ann).astype(bool)
            assert mask.any()
            assert abs(mask.sum() - ann['area']) <= 0.02 * ann['area'] + 2
            ys, xs = np.nonzero(mask)
            x, y, bw, bh = ann['bbox']
            np.testing.assert_allclose(
                [xs.min(), ys.min(),
                 xs.max() + 1, ys.max() + 1], [x, y, x + bw, y + bh],
                atol=1)


def test_empty_images_listed(shapes_data_root):
    for split in ('train', 'val'):
        coco = _load(shapes_data_root, split)
        with_anns = {a['image_id'] for a in coco['annotations']}
        empty = [i for i in coco['images'] if i['id'] not in with_anns]
        assert len(empty) >= 1
        assert len(empty) < len(coco['images'])


def test_default_sizes_cover_every_scale_range(shapes_data_root):
    ranges = default_size_ranges((128, 128))
    assert len(ranges) == 5
    # SOLO's ranges scaled by 128 / 800, clipped to what fits.
    assert ranges[2] == (pytest.approx(96 * 128 / 800, abs=0.01),
                         pytest.approx(384 * 128 / 800, abs=0.01))
    assert ranges[0][0] == 8  # min_size
    assert ranges[-1][1] == pytest.approx(0.9 * 128)  # max_fill
    sizes = _sizes(_load(shapes_data_root, 'train'))
    for lo, hi in ranges:
        assert np.any((sizes >= lo) & (sizes <= hi)), (lo, hi)


def test_requested_size_ranges(tmp_path):
    ranges = [(8, 14), (24, 34), (50, 80)]
    result = make_shapes_dataset(
        str(tmp_path),
        num_train=12,
        num_val=0,
        img_size=(112, 112),
        size_ranges=ranges,
        progress=False)
    sizes = _sizes(_load(str(tmp_path), 'train'))
    for lo, hi in ranges:
        assert np.any((sizes >= lo) & (sizes <= hi)), (lo, hi)
    # Visible boxes are never larger than the drawn shape (+ rounding).
    assert sizes.max() <= 80 + 2
    per_range = result['stats']['train']['per_size_range']
    assert list(per_range) == ['8-14', '24-34', '50-80']
    assert all(v > 0 for v in per_range.values())


def test_overlap_and_occlusion(shapes_data_root):
    coco = COCO(osp.join(shapes_data_root, 'train.json'))
    overlapping_pairs = 0
    occluded = 0
    names = {c['id']: c['name'] for c in coco.loadCats(coco.getCatIds())}
    for img_id in coco.getImgIds():
        anns = coco.loadAnns(coco.getAnnIds(imgIds=img_id))
        masks = [coco.annToMask(a).astype(bool) for a in anns]
        for i in range(len(anns)):
            # A convex shape whose visible mask is far from convex has been
            # partly painted over.
            if names[anns[i]['category_id']] in CONVEX_CLASSES:
                pts = np.ascontiguousarray(
                    np.argwhere(masks[i])[:, ::-1], dtype=np.int32)
                hull = cv2.convexHull(pts)
                hull_mask = np.zeros(masks[i].shape, np.uint8)
                cv2.fillPoly(hull_mask, [hull], 1)
                if masks[i].sum() < 0.85 * hull_mask.sum():
                    occluded += 1
            for j in range(i + 1, len(anns)):
                a, b = anns[i]['bbox'], anns[j]['bbox']
                if (min(a[0] + a[2], b[0] + b[2]) > max(a[0], b[0])
                        and min(a[1] + a[3], b[1] + b[3]) > max(a[1], b[1])):
                    overlapping_pairs += 1
                # Visible masks never share a pixel.
                assert not np.any(masks[i] & masks[j])
    assert overlapping_pairs > 0
    assert occluded > 0


def test_objects_contrast_with_surroundings(shapes_data_root):
    coco = COCO(osp.join(shapes_data_root, 'train.json'))
    diffs = []
    for ann in coco.loadAnns(coco.getAnnIds()):
        if ann['area'] < 50:
            continue
        info = coco.imgs[ann['image_id']]
        img = cv2.imread(
            osp.join(shapes_data_root, 'train',
                     info['file_name'])).astype(np.float64)
        mask = coco.annToMask(ann)
        inner = cv2.erode(mask, np.ones((3, 3), np.uint8)).astype(bool)
        ring = cv2.dilate(mask, np.ones((7, 7), np.uint8)).astype(bool)
        ring &= ~mask.astype(bool)
        if not inner.any() or not ring.any():
            continue
        diffs.append(np.linalg.norm(img[inner].mean(0) - img[ring].mean(0)))
    assert len(diffs) >= 10
    assert np.mean(np.array(diffs) > 30) >= 0.9


@pytest.mark.parametrize('case', ['ring', 'noise', 'diagonal', 'empty'])
def test_mask_to_polygons_round_trip(case):
    rng = np.random.default_rng(0)
    mask = np.zeros((40, 48), np.uint8)
    if case == 'ring':
        cv2.circle(mask, (24, 20), 15, 1, -1)
        cv2.circle(mask, (24, 20), 6, 0, -1)
        cv2.circle(mask, (30, 10), 2, 0, -1)
    elif case == 'noise':
        mask = (rng.random((40, 48)) < 0.5).astype(np.uint8)
    elif case == 'diagonal':
        mask[np.arange(10), np.arange(10)] = 1
        mask[20:25, 30:31] = 1
    polys = mask_to_polygons(mask)
    if case == 'empty':
        assert polys == []
        return
    for poly in polys:
        assert len(poly) >= 6 and len(poly) % 2 == 0
    rles = mask_utils.frPyObjects(polys, *mask.shape)
    decoded = mask_utils.decode(mask_utils.merge(rles))
    np.testing.assert_array_equal(decoded, mask)


def test_mmdet_coco_dataset_loads(shapes_data_root):
    from mmengine.registry import init_default_scope

    from mmsolo.registry import DATASETS
    init_default_scope('mmsolo')
    dataset = DATASETS.build(
        dict(
            type='mmdet.CocoDataset',
            data_root=shapes_data_root,
            ann_file='train.json',
            data_prefix=dict(img='train/'),
            metainfo=dict(classes=SHAPES_CLASSES),
            pipeline=[
                dict(type='mmdet.LoadImageFromFile'),
                dict(
                    type='mmdet.LoadAnnotations',
                    with_bbox=True,
                    with_mask=True),
                dict(type='mmdet.PackDetInputs'),
            ]))
    assert len(dataset) == 8
    assert dataset.metainfo['classes'] == SHAPES_CLASSES
    coco = _load(shapes_data_root, 'train')
    num_anns = {i['file_name']: 0 for i in coco['images']}
    by_id = {i['id']: i['file_name'] for i in coco['images']}
    for ann in coco['annotations']:
        num_anns[by_id[ann['image_id']]] += 1
    seen_empty = False
    for item in dataset:
        sample = item['data_samples']
        assert tuple(item['inputs'].shape) == (3, 128, 128)
        gt = sample.gt_instances
        n = num_anns[osp.basename(sample.img_path)]
        assert len(gt) == n
        masks = gt.masks.to_ndarray()
        assert masks.shape == (n, 128, 128)
        assert (masks.sum(axis=(1, 2)) > 0).all()
        assert ((gt.labels >= 0) & (gt.labels < len(SHAPES_CLASSES))).all()
        seen_empty |= n == 0
    assert seen_empty


def test_ensure_shapes_dataset(tmp_path, monkeypatch):
    import mmsolo.datasets.shapes as shapes
    root = str(tmp_path)
    kwargs = dict(num_train=2, num_val=1, img_size=(64, 64), progress=False)
    first = ensure_shapes_dataset(root, **kwargs)
    assert osp.isfile(osp.join(root, META_FILE))

    calls = []
    real = shapes.make_shapes_dataset

    def counting(*args, **kw):
        calls.append(kw)
        return real(*args, **kw)

    monkeypatch.setattr(shapes, 'make_shapes_dataset', counting)
    again = ensure_shapes_dataset(root, **kwargs)
    assert calls == []
    assert again['stats'] == first['stats']
    assert again['ann_files'] == first['ann_files']

    # Different arguments: generated again.
    ensure_shapes_dataset(root, seed=1, **kwargs)
    assert len(calls) == 1
    # Same arguments but an image is missing: generated again.
    os.remove(osp.join(root, 'train', '000001.jpg'))
    ensure_shapes_dataset(root, seed=1, **kwargs)
    assert len(calls) == 2
    assert osp.isfile(osp.join(root, 'train', '000001.jpg'))
    ensure_shapes_dataset(root, seed=1, **kwargs)
    assert len(calls) == 2


def test_invalid_arguments(tmp_path):
    with pytest.raises(ValueError, match='Unknown shape'):
        make_shapes_dataset(str(tmp_path), classes=('circle', 'blob'))
    with pytest.raises(ValueError):
        make_shapes_dataset(str(tmp_path), min_objects=3, max_objects=2)
    with pytest.raises(ValueError):
        make_shapes_dataset(str(tmp_path), size_ranges=[(10, 5)])


def test_make_shapes_dataset_cli(tmp_path, capsys):
    path = osp.join(REPO_ROOT, 'tools', 'misc', 'make_shapes_dataset.py')
    spec = importlib.util.spec_from_file_location('make_shapes_cli', path)
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    out = str(tmp_path / 'shapes')
    cli.main([
        '--out', out, '--num-train', '4', '--num-val', '2', '--seed', '1',
        '--img-size', '80', '96', '--classes', 'circle', 'hexagon'
    ])
    text = capsys.readouterr().out
    assert 'empty' in text and 'hexagon' in text
    coco = _load(out, 'train')
    assert len(coco['images']) == 4
    assert (coco['images'][0]['height'], coco['images'][0]['width']) == (80,
                                                                         96)
    assert [c['name'] for c in coco['categories']] == ['circle', 'hexagon']
    assert len(_load(out, 'val')['images']) == 2

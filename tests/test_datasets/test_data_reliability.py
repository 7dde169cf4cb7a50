# Copyright (c) mmsolo contributors. All rights reserved.
"""Bad data gets a clear error or correct behaviour (issue 13, item 1).

Classes that the json lacks or that the model cannot predict are rejected
before the first iteration with both lists; an unreadable image is named
with its dataset index, or skipped and counted with ``skip_unreadable``;
grayscale, RGBA and 16-bit PNG/TIFF images train; a set where a third of
the images are empty trains with ``filter_empty_gt=False``.
"""
import json
import os
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from torch.utils.data import DataLoader

import mmsolo  # noqa: F401
from mmsolo.datasets import (CocoDataset, DatasetConfigError,
                             UnreadableImageError)
from mmsolo.datasets.shapes import SHAPES_CLASSES

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_CFG = osp.join(ROOT, 'tests', 'data', 'configs', 'tiny_solo_shapes.py')


def copy_set(src: str, dst) -> str:
    """A writable copy of the shared shapes set."""
    dst = str(dst)
    shutil.copytree(src, dst)
    return dst


def build_dataset(root: str, **kwargs) -> CocoDataset:
    init_default_scope('mmsolo')
    cfg = Config.fromfile(TINY_CFG).train_dataloader.dataset
    cfg.update(data_root=root, **kwargs)
    cfg.pop('type')
    return CocoDataset(**cfg)


def tiny_runner(root: str, work_dir, **options) -> Runner:
    """The tiny SOLO config on ``root``, with ``options`` merged."""
    cfg = Config.fromfile(TINY_CFG)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = root
    cfg.val_evaluator.ann_file = osp.join(root, 'val.json')
    cfg.test_evaluator = cfg.val_evaluator
    cfg.work_dir = str(work_dir)
    cfg.train_cfg.val_interval = 1000
    cfg.default_hooks.checkpoint.interval = 1000
    cfg.merge_from_dict(options)
    cfg.experiment_name = f'data_{os.getpid()}_{id(options)}'
    return Runner.from_cfg(cfg)


def train_log(runner: Runner) -> str:
    with open(osp.join(runner.log_dir, f'{runner.timestamp}.log')) as f:
        return f.read()


# --------------------------------------------------------------- classes
def test_json_categories_not_matching_classes(shapes_data_root):
    classes = ('circle', 'Square', 'triangle', 'hexagon')
    with pytest.raises(DatasetConfigError) as info:
        build_dataset(shapes_data_root, metainfo=dict(classes=classes))
    msg = str(info.value)
    assert 'train.json' in msg
    assert "['Square', 'hexagon']" in msg  # the missing ones
    assert str(list(classes)) in msg and str(list(SHAPES_CLASSES)) in msg


def test_subset_of_json_categories_is_fine(shapes_data_root):
    dataset = build_dataset(
        shapes_data_root, metainfo=dict(classes=('star', 'circle')))
    labels = {
        inst['bbox_label']
        for i in range(len(dataset))
        for inst in dataset.get_data_info(i)['instances']
    }
    assert labels <= {0, 1}


def test_more_classes_than_model_rejected_before_training(
        shapes_data_root, tmp_path):
    runner = tiny_runner(
        shapes_data_root, tmp_path, model=dict(mask_head=dict(num_classes=3)))
    with pytest.raises(DatasetConfigError) as info:
        runner.train()
    msg = str(info.value)
    assert "dataset classes: ['circle', 'square', 'triangle', 'star']" in msg
    assert "model classes:   ['circle', 'square', 'triangle']" in msg
    assert "['star']" in msg and 'num_classes=4' in msg
    assert runner.iter == 0
    assert 'Iter(train)' not in train_log(runner)


# -------------------------------------------------------- unreadable images
@pytest.fixture
def broken_set(shapes_data_root, tmp_path):
    """Image 1 is empty, image 2 missing, image 3 is not an image."""
    root = copy_set(shapes_data_root, tmp_path / 'broken')
    open(osp.join(root, 'train', '000001.jpg'), 'wb').close()
    os.remove(osp.join(root, 'train', '000002.jpg'))
    with open(osp.join(root, 'train', '000003.jpg'), 'wb') as f:
        f.write(b'\xff\xd8 this is no jpeg')
    return root


@pytest.mark.parametrize('idx,reason', [(1, 'the file is empty'),
                                        (2, 'file not found'),
                                        (3, 'not a decodable image')])
def test_unreadable_image_named_with_index(broken_set, idx, reason):
    dataset = build_dataset(broken_set)
    with pytest.raises(UnreadableImageError) as info:
        dataset[idx]
    msg = str(info.value)
    path = osp.join(broken_set, 'train', f'00000{idx}.jpg')
    assert path in msg and f'dataset index {idx}' in msg and reason in msg
    assert 'skip_unreadable=True' in msg
    dataset[0]  # the readable ones load


def test_skip_unreadable_counts_across_workers(broken_set):
    dataset = build_dataset(broken_set, skip_unreadable=True)
    out = dataset[2]  # another (readable) image comes instead
    assert osp.basename(out['data_samples'].img_path) not in {
        '000001.jpg', '000002.jpg', '000003.jpg'
    }
    # the random replacement may be unreadable too
    before = dataset.num_skipped
    assert before >= 1
    loader = DataLoader(
        dataset, batch_size=1, num_workers=2, collate_fn=lambda x: x)
    assert len(list(loader)) == len(dataset)
    # each broken image at least once, counted in the worker processes
    assert dataset.num_skipped >= before + 3


def test_skip_unreadable_does_not_apply_to_test_mode(broken_set):
    dataset = build_dataset(broken_set, skip_unreadable=True, test_mode=True)
    with pytest.raises(UnreadableImageError, match='dataset index 2'):
        dataset[2]


def test_skipped_images_logged_in_training(broken_set, tmp_path):
    runner = tiny_runner(
        broken_set,
        tmp_path,
        train_dataloader=dict(dataset=dict(skip_unreadable=True)))
    runner.train()
    log = train_log(runner)
    assert 'Skipped image' in log and 'dataset index' in log
    assert 'unreadable image(s) skipped so far' in log
    assert f'Training skipped {runner.train_dataloader.dataset.num_skipped}' \
        in log


# ------------------------------------------------------------ image formats
FORMATS = {
    '000000': ('.png', 'gray'),
    '000001': ('.png', 'rgba'),
    '000002': ('.png', 'uint16'),
    '000003': ('.tif', 'uint16'),
    '000004': ('.tif', 'gray16'),
    '000005': ('.tiff', 'rgba'),
    '000006': ('.png', 'gray16'),
    '000007': ('.tif', 'gray'),
}


def convert(img: np.ndarray, kind: str) -> np.ndarray:
    """A BGR uint8 image as grayscale, BGRA or 16-bit."""
    if kind == 'gray':
        return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    if kind == 'rgba':
        return cv2.cvtColor(img, cv2.COLOR_BGR2BGRA)
    if kind == 'uint16':
        return img.astype(np.uint16) * 257
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.uint16) * 257


@pytest.fixture
def formats_set(shapes_data_root, tmp_path):
    root = copy_set(shapes_data_root, tmp_path / 'formats')
    ann = osp.join(root, 'train.json')
    with open(ann) as f:
        coco = json.load(f)
    for info in coco['images']:
        stem = osp.splitext(info['file_name'])[0]
        ext, kind = FORMATS[stem]
        src = osp.join(root, 'train', info['file_name'])
        out = convert(cv2.imread(src), kind)
        assert cv2.imwrite(osp.join(root, 'train', stem + ext), out)
        os.remove(src)
        info['file_name'] = stem + ext
    with open(ann, 'w') as f:
        json.dump(coco, f)
    return root


def test_image_formats_load_as_bgr_uint8(formats_set, shapes_data_root):
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='mmdet.PackDetInputs')
    ]
    dataset = build_dataset(formats_set, pipeline=pipeline)
    original = build_dataset(shapes_data_root)
    for i in range(len(dataset)):
        stem = osp.splitext(
            osp.basename(dataset.get_data_info(i)['img_path']))[0]
        kind = FORMATS[stem][1]
        raw = cv2.imread(
            dataset.get_data_info(i)['img_path'], cv2.IMREAD_UNCHANGED)
        assert raw.dtype == (np.uint16 if '16' in kind else np.uint8)
        inputs = dataset[i]['inputs']
        assert inputs.dtype == torch.uint8 and inputs.shape[0] == 3
        # the same picture as the original jpeg (gray: its gray version)
        ref = cv2.imread(original.get_data_info(i)['img_path'])
        if 'gray' in kind:
            ref = cv2.cvtColor(
                cv2.cvtColor(ref, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
        ref = torch.from_numpy(ref).permute(2, 0, 1).float()
        assert (inputs.float() - ref).abs().max() <= 1, stem


def test_image_formats_train(formats_set, tmp_path):
    runner = tiny_runner(formats_set, tmp_path)
    runner.train()
    assert runner.iter == 4
    assert all(torch.isfinite(p).all() for p in runner.model.parameters())


# ------------------------------------------------------------ empty images
def test_third_empty_trains_and_cls_loss_decreases(shapes_data_root, tmp_path):
    root = copy_set(shapes_data_root, tmp_path / 'empty')
    ann = osp.join(root, 'train.json')
    with open(ann) as f:
        coco = json.load(f)
    empty = {info['id'] for info in coco['images'][::3]}
    coco['annotations'] = [
        a for a in coco['annotations'] if a['image_id'] not in empty
    ]
    with open(ann, 'w') as f:
        json.dump(coco, f)
    iters = 60  # measured: 1.11 -> 0.46 (a noisy rise until ~40)
    runner = tiny_runner(
        root,
        tmp_path,
        train_dataloader=dict(
            dataset=dict(filter_cfg=dict(filter_empty_gt=False))),
        train_cfg=dict(max_iters=iters),
        param_scheduler=[],
        randomness=dict(seed=0))
    dataset = runner.train_dataloader.dataset
    assert len(dataset) == 8  # the empty images are kept
    # the category loss on all 8 images (one fixed batch), before and after
    batch = pseudo_collate([dataset[i] for i in range(len(dataset))])

    def cls_loss() -> float:
        with torch.no_grad():
            data = runner.model.data_preprocessor(batch, True)
            return runner.model(**data, mode='loss')['loss_cls'].item()

    runner.model.init_weights()  # the Runner does not initialise it again
    before = cls_loss()
    runner.train()
    history = runner.message_hub.get_scalar('train/loss_cls').data[0]
    assert len(history) == iters and np.isfinite(history).all()
    after = cls_loss()
    assert after < 0.7 * before, (before, after)

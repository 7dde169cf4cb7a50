# Copyright (c) mmsolo contributors. All rights reserved.
"""What already worked when issue 13 was filed stays covered: degenerate
annotations train, tiny and huge images predict."""
import json
import os
import os.path as osp
import shutil

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import mmsolo  # noqa: F401

ROOT = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
TINY_CFG = osp.join(ROOT, 'tests', 'data', 'configs', 'tiny_solo_shapes.py')


def degenerate_annotations(image_id: int, next_id: int) -> list:
    """Zero-area, two-point and out-of-image polygons, a zero-size box and
    a single-pixel mask, on a 128 x 128 image (mmdet drops the annotations
    that do not overlap the image)."""
    polygons = [
        [10, 10, 20, 20, 30, 30],  # collinear: zero area
        [40, 40, 50, 50],  # two points
        [200, 200, 220, 200, 220, 220],  # outside the image
        [-30, -30, -10, -30, -10, -10],  # outside, negative
        [120, 120, 150, 120, 150, 150, 120, 150],  # partly outside
        [60, 60, 61, 60, 61, 61, 60, 61],  # a single pixel
        [70, 70, 70, 70, 70, 70],  # one point three times
    ]
    anns = []
    for k, poly in enumerate(polygons):
        xs, ys = poly[0::2], poly[1::2]
        box = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
        anns.append(
            dict(
                id=next_id + k,
                image_id=image_id,
                category_id=1 + k % 4,
                segmentation=[poly],
                area=float(box[2] * box[3]),
                bbox=box,
                iscrowd=0))
    return anns


@pytest.fixture
def degenerate_set(shapes_data_root, tmp_path):
    root = str(tmp_path / 'degenerate')
    shutil.copytree(shapes_data_root, root)
    ann = osp.join(root, 'train.json')
    with open(ann) as f:
        coco = json.load(f)
    next_id = max(a['id'] for a in coco['annotations']) + 1
    for info in coco['images'][:4]:  # half the images get them
        coco['annotations'] += degenerate_annotations(info['id'], next_id)
        next_id += 10
    with open(ann, 'w') as f:
        json.dump(coco, f)
    return root


def test_degenerate_annotations_train(degenerate_set, tmp_path):
    cfg = Config.fromfile(TINY_CFG)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = degenerate_set
    cfg.val_evaluator.ann_file = osp.join(degenerate_set, 'val.json')
    cfg.test_evaluator = cfg.val_evaluator
    cfg.work_dir = str(tmp_path / 'work')
    cfg.train_cfg.val_interval = 100
    cfg.experiment_name = f'degenerate_{os.getpid()}'
    runner = Runner.from_cfg(cfg)
    dataset = runner.train_dataloader.dataset
    names = [
        osp.basename(dataset.get_data_info(i)['img_path'])
        for i in range(len(dataset))
    ]
    # the degenerate ones with a box of at least 1 x 1 reach the pipeline
    item = dataset.get_data_info(names.index('000000.jpg'))
    boxes = np.array([inst['bbox'] for inst in item['instances']])
    sizes = boxes[:, 2:] - boxes[:, :2]
    assert ((sizes == 1).all(1)).any()  # the single pixel
    assert (boxes.max(1) > 128).any()  # partly out of the image
    runner.train()  # the NonFiniteCheckHook of the base runtime is on
    assert runner.iter == cfg.train_cfg.max_iters
    losses = runner.message_hub.get_scalar('train/loss').data[0]
    assert np.isfinite(losses).all()


@pytest.fixture(scope='module')
def tiny_model():
    from mmsolo.registry import MODELS
    init_default_scope('mmsolo')
    cfg = Config.fromfile(TINY_CFG)
    cfg.model.test_cfg.max_per_img = 5
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model.eval(), cfg


def test_zero_size_boxes_and_empty_masks_in_the_loss(tiny_model,
                                                     shapes_data_root):
    """Instances that the dataset would drop, given to the model directly:
    zero-size boxes with empty or single-pixel masks."""
    from mmdet.structures.mask import BitmapMasks
    from mmengine.dataset import pseudo_collate

    from mmsolo.registry import DATASETS
    model, cfg = tiny_model
    dataset_cfg = cfg.train_dataloader.dataset
    dataset = DATASETS.build(dict(dataset_cfg, data_root=shapes_data_root))
    data = model.data_preprocessor(pseudo_collate([dataset[0]]), True)
    gt = data['data_samples'][0].gt_instances
    h, w = gt.masks.height, gt.masks.width
    extra = np.zeros((3, h, w), np.uint8)
    extra[1, 5, 7] = 1  # single pixel, zero-size box
    extra[2, 20, 20:40] = 1  # one row: zero height box
    masks = np.concatenate([gt.masks.to_ndarray(), extra])
    boxes = torch.tensor([[3., 3., 3., 3.], [7., 5., 7., 5.],
                          [20., 20., 40., 20.]])
    gt = gt.new(
        bboxes=torch.cat([gt.bboxes, boxes]),
        labels=torch.cat([gt.labels, torch.tensor([0, 1, 2])]),
        masks=BitmapMasks(masks, h, w))
    data['data_samples'][0].gt_instances = gt
    model.train()
    try:
        losses = model(**data, mode='loss')
    finally:
        model.eval()
    for name, value in losses.items():
        assert torch.isfinite(value).all(), name
    sum(losses.values()).backward()


@pytest.mark.parametrize('shape', [(48, 64), (3000, 4000)])
def test_tiny_and_huge_images_predict(tiny_model, shape):
    from mmdet.apis import inference_detector
    model, cfg = tiny_model
    model.cfg = cfg
    img = np.random.default_rng(0).integers(
        0, 255, (*shape, 3), dtype=np.uint8)
    pred = inference_detector(model, img).pred_instances
    assert 0 < len(pred) <= 5
    assert tuple(pred.masks.shape[-2:]) == shape
    assert (pred.bboxes[:, 2] <= shape[1]).all()
    assert (pred.bboxes[:, 3] <= shape[0]).all()

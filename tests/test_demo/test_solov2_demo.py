# Copyright (c) mmsolo contributors. All rights reserved.
"""A SOLOv2 model through the user-facing paths: demo/image_demo.py,
DetInferencer, tools/train.py and tools/test.py --tta."""
import json
import os
import os.path as osp
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

ROOT = Path(__file__).resolve().parents[2]
TINY_CFG = ROOT / 'tests' / 'data' / 'configs' / 'tiny_solov2_shapes.py'
ENV = dict(os.environ, OMP_NUM_THREADS='1')


@pytest.fixture(scope='module')
def solov2_checkpoint(tmp_path_factory):
    """A randomly initialised tiny SOLOv2 whose masks are not empty."""
    from mmengine.registry import init_default_scope

    import mmsolo  # noqa: F401
    from mmsolo.registry import MODELS
    init_default_scope('mmsolo')
    cfg = Config.fromfile(str(TINY_CFG))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    torch.nn.init.normal_(model.mask_head.conv_kernel.weight, std=0.3)
    path = tmp_path_factory.mktemp('ckpt') / 'tiny_solov2.pth'
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(dataset_meta=dict(classes=cfg.classes))), path)
    return str(path)


def test_image_demo(shapes_data_root, solov2_checkpoint, tmp_path):
    images = osp.join(shapes_data_root, 'val')
    out_dir = tmp_path / 'out'
    subprocess.run([
        sys.executable,
        str(ROOT / 'demo' / 'image_demo.py'), images,
        str(TINY_CFG), '--weights', solov2_checkpoint, '--out-dir',
        str(out_dir), '--device', 'cpu', '--pred-score-thr', '0.0'
    ],
                   check=True,
                   cwd=str(ROOT),
                   env=ENV)
    names = sorted(f for f in os.listdir(images) if f.endswith('.jpg'))
    assert len(os.listdir(out_dir / 'vis')) == len(names)
    with open(out_dir / 'preds' / f'{osp.splitext(names[0])[0]}.json') as f:
        pred = json.load(f)
    assert len(pred['labels']) > 0
    assert len(pred['bboxes']) == len(pred['masks']) == len(pred['labels'])


def test_det_inferencer_gives_tight_boxes(shapes_data_root, solov2_checkpoint):
    from mmdet.apis import DetInferencer
    inferencer = DetInferencer(
        model=str(TINY_CFG),
        weights=solov2_checkpoint,
        device='cpu',
        scope='mmsolo',
        show_progress=False)
    img = osp.join(shapes_data_root, 'val',
                   sorted(os.listdir(osp.join(shapes_data_root, 'val')))[0])
    pred = inferencer(
        img, return_datasamples=True)['predictions'][0].pred_instances
    assert type(inferencer.model.mask_head).__name__ == 'SOLOv2Head'
    assert len(pred) > 0 and pred.masks.shape[-2:] == (128, 128)
    for mask, box in zip(pred.masks, pred.bboxes):
        ys, xs = torch.nonzero(mask, as_tuple=True)
        if len(ys):
            assert box.tolist() == [
                xs.min().item(),
                ys.min().item(),
                xs.max().item() + 1,
                ys.max().item() + 1
            ]


def test_train_then_test_with_tta(shapes_data_root, tmp_path):
    data = [
        f'{split}_dataloader.dataset.data_root={shapes_data_root}'
        for split in ('train', 'val', 'test')
    ] + [
        f'{split}_evaluator.ann_file={shapes_data_root}/val.json'
        for split in ('val', 'test')
    ]
    work_dir = tmp_path / 'work'
    subprocess.run([
        sys.executable,
        str(ROOT / 'tools' / 'train.py'),
        str(TINY_CFG), '--work-dir',
        str(work_dir), '--cfg-options', 'train_cfg.val_interval=100', *data
    ],
                   check=True,
                   cwd=str(ROOT),
                   env=ENV,
                   capture_output=True)
    ckpt = sorted(work_dir.glob('iter_*.pth'))[-1]
    proc = subprocess.run([
        sys.executable,
        str(ROOT / 'tools' / 'test.py'),
        str(TINY_CFG),
        str(ckpt), '--tta', '--work-dir',
        str(tmp_path / 'test'), '--cfg-options', *data
    ],
                          cwd=str(ROOT),
                          env=ENV,
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'coco/segm_mAP' in proc.stdout + proc.stderr

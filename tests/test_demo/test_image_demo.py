# Copyright (c) mmsolo contributors. All rights reserved.
"""demo/image_demo.py and mmdet's DetInferencer in the mmsolo scope."""
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
TINY_CFG = ROOT / 'tests' / 'data' / 'configs' / 'tiny_solo_shapes.py'


@pytest.fixture(scope='module')
def tiny_checkpoint(tmp_path_factory):
    """A randomly initialised tiny SOLO saved as an mmengine checkpoint."""
    from mmengine.registry import init_default_scope

    import mmsolo  # noqa: F401
    from mmsolo.registry import MODELS
    init_default_scope('mmsolo')
    cfg = Config.fromfile(str(TINY_CFG))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    path = tmp_path_factory.mktemp('ckpt') / 'tiny.pth'
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(dataset_meta=dict(classes=cfg.classes))), path)
    return str(path)


def test_image_demo_writes_pictures_and_json(shapes_data_root, tiny_checkpoint,
                                             tmp_path):
    images = osp.join(shapes_data_root, 'val')
    out_dir = tmp_path / 'out'
    subprocess.run([
        sys.executable,
        str(ROOT / 'demo' / 'image_demo.py'), images,
        str(TINY_CFG), '--weights', tiny_checkpoint, '--out-dir',
        str(out_dir), '--device', 'cpu', '--pred-score-thr', '0.0'
    ],
                   check=True,
                   cwd=str(ROOT),
                   env=dict(os.environ, OMP_NUM_THREADS='1'))
    names = sorted(
        osp.splitext(f)[0] for f in os.listdir(images) if f.endswith('.jpg'))
    assert sorted(osp.splitext(f)[0]
                  for f in os.listdir(out_dir / 'vis')) == names
    assert all(f.endswith('.png') for f in os.listdir(out_dir / 'vis'))
    with open(out_dir / 'preds' / f'{names[0]}.json') as f:
        pred = json.load(f)
    assert set(pred) >= {'labels', 'scores', 'bboxes', 'masks'}
    # the tiny test config's thresholds keep instances even untrained
    assert len(pred['labels']) > 0
    assert {'size', 'counts'} <= set(pred['masks'][0])


def test_image_demo_missing_input(tiny_checkpoint, tmp_path):
    proc = subprocess.run([
        sys.executable,
        str(ROOT / 'demo' / 'image_demo.py'),
        str(tmp_path / 'nope.jpg'),
        str(TINY_CFG), '--weights', tiny_checkpoint
    ],
                          cwd=str(ROOT),
                          capture_output=True,
                          text=True)
    assert proc.returncode != 0
    assert 'does not exist' in proc.stderr


def test_det_inferencer_python_api(shapes_data_root, tiny_checkpoint):
    from mmdet.apis import DetInferencer
    inferencer = DetInferencer(
        model=str(TINY_CFG),
        weights=tiny_checkpoint,
        device='cpu',
        scope='mmsolo',
        show_progress=False)
    img = osp.join(shapes_data_root, 'val',
                   sorted(os.listdir(osp.join(shapes_data_root, 'val')))[0])
    result = inferencer(img, return_datasamples=True)
    pred = result['predictions'][0].pred_instances
    assert pred.masks.shape[-2:] == (128, 128)
    assert pred.bboxes.shape == (len(pred), 4)

# Copyright (c) mmsolo contributors. All rights reserved.
"""tools/deployment/export_onnx.py and demo/onnx_demo.py, as users run them.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

ROOT = Path(__file__).resolve().parents[2]
TINY_CFG = ROOT / 'tests' / 'data' / 'configs' / 'tiny_solo_shapes.py'
EXPORT = ROOT / 'tools' / 'deployment' / 'export_onnx.py'
DEMO = ROOT / 'demo' / 'onnx_demo.py'
#: a tiny model that gives instances: usual thresholds, spread output convs
TEST_CFG = [
    'model.test_cfg.score_thr=0.1', 'model.test_cfg.mask_thr=0.5',
    'model.test_cfg.filter_thr=0.05'
]


def data_options(root):
    return [
        f'test_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}'
    ]


@pytest.fixture(scope='module')
def tiny_checkpoint(tmp_path_factory):
    """The tiny SOLO with spread output convs, saved as a checkpoint."""
    from mmengine.registry import init_default_scope

    from mmsolo.registry import MODELS
    init_default_scope('mmsolo')
    cfg = Config.fromfile(str(TINY_CFG))
    model = MODELS.build(cfg.model)
    torch.manual_seed(0)
    model.init_weights()
    with torch.no_grad():
        for name, conv in model.mask_head.named_modules():
            output = name.startswith(('conv_mask_list', 'conv_cls'))
            if output and hasattr(conv, 'weight'):
                gain = 1.0 if name == 'conv_cls' else 3.0
                conv.weight.normal_(0, gain / conv.weight[0].numel()**0.5)
                conv.bias.fill_(-1.5 if name == 'conv_cls' else 0.)
    path = tmp_path_factory.mktemp('ckpt') / 'tiny.pth'
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(dataset_meta=dict(classes=cfg.classes))), path)
    return str(path)


@pytest.fixture(scope='module')
def exported(tiny_checkpoint, shapes_data_root, tmp_path_factory):
    """The tiny model exported with --dynamic --verify; (file, stdout)."""
    out = tmp_path_factory.mktemp('onnx') / 'tiny.onnx'
    images = sorted((Path(shapes_data_root) / 'val').glob('*.jpg'))[:2]
    proc = subprocess.run([
        sys.executable,
        str(EXPORT),
        str(TINY_CFG), tiny_checkpoint, '--out',
        str(out), '--dynamic', '--verify', *map(str, images), '--cfg-options',
        *TEST_CFG, *data_options(shapes_data_root)
    ],
                          capture_output=True,
                          text=True,
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return str(out), proc.stdout


def test_export_verifies_in_both_runtimes(exported):
    onnx_file, stdout = exported
    assert 'Verified against PyTorch: 4 of 4 runs equal' in stdout
    for runtime in ('onnxruntime', 'openvino'):
        assert stdout.count(f'OK      {runtime}') == 2
    assert 'DIFFERS' not in stdout
    from mmsolo.deployment import read_metadata
    meta = read_metadata(onnx_file)
    assert meta['classes'] == ['circle', 'square', 'triangle', 'star']
    assert meta['config'] == 'tiny_solo_shapes.py' and meta['dynamic']
    assert meta['test_cfg']['score_thr'] == 0.1


def test_export_refuses_mask_nms(tiny_checkpoint, tmp_path):
    proc = subprocess.run([
        sys.executable,
        str(EXPORT),
        str(TINY_CFG), tiny_checkpoint, '--out',
        str(tmp_path / 'x.onnx'), '--cfg-options',
        'model.test_cfg.nms_type=mask'
    ],
                          capture_output=True,
                          text=True,
                          cwd=ROOT)
    assert proc.returncode == 2
    assert 'Matrix NMS' in proc.stderr and 'nms_type=matrix' in proc.stderr
    assert not (tmp_path / 'x.onnx').exists()


NO_TORCH = '''raise ImportError("{name} must not be imported by the demo")\n'''


def run_demo_without_torch(args, tmp_path):
    """Run demo/onnx_demo.py where torch & co. cannot be imported."""
    stubs = tmp_path / 'stubs'
    stubs.mkdir(exist_ok=True)
    for name in ('torch', 'torchvision', 'mmcv', 'mmengine', 'mmdet',
                 'mmsolo'):
        (stubs / f'{name}.py').write_text(NO_TORCH.format(name=name))
    env = dict(os.environ, PYTHONPATH=str(stubs))
    return subprocess.run([sys.executable, str(DEMO), *args],
                          capture_output=True,
                          text=True,
                          env=env,
                          cwd=tmp_path)


def test_demo_without_torch_equals_pytorch(exported, shapes_data_root,
                                           tiny_checkpoint, tmp_path):
    onnx_file, _ = exported
    images = tmp_path / 'images'
    images.mkdir()
    src = sorted((Path(shapes_data_root) / 'val').glob('*.jpg'))[:2]
    for path in src:
        shutil.copy(path, images)
    # another size, resized by the test pipeline's keep-ratio resize
    cv2.imwrite(
        str(images / 'wide.png'),
        cv2.resize(cv2.imread(str(src[0])), (200, 150)))
    (images / 'broken.jpg').write_bytes(b'not an image')
    proc = run_demo_without_torch(
        [str(images), onnx_file, '--out-dir',
         str(tmp_path / 'out')], tmp_path)
    assert proc.returncode == 1, proc.stderr  # one image was unreadable
    assert 'skipping' in proc.stderr and 'broken.jpg' in proc.stderr
    assert '3 of 4 images' in proc.stdout

    from mmdet.apis import init_detector
    from pycocotools import mask as mask_utils

    from mmsolo.deployment import test_pipeline_inputs
    cfg = Config.fromfile(str(TINY_CFG))
    cfg.merge_from_dict(
        {k: float(v)
         for k, v in (o.split('=') for o in TEST_CFG)})
    model = init_detector(cfg, tiny_checkpoint, device='cpu')
    compared = 0
    for path in sorted(images.iterdir()):
        if path.name == 'broken.jpg':
            assert not (tmp_path / 'out' / 'preds' / 'broken.json').exists()
            continue
        assert (tmp_path / 'out' / 'vis' / f'{path.stem}.png').exists()
        pred = json.loads(
            (tmp_path / 'out' / 'preds' / f'{path.stem}.json').read_text())
        data = test_pipeline_inputs(cfg, str(path))
        batch = model.data_preprocessor(
            dict(inputs=[data['inputs']], data_samples=[data['data_samples']]),
            False)
        with torch.no_grad():
            ref = model.predict(batch['inputs'],
                                batch['data_samples'])[0].pred_instances
        assert pred['labels'] == ref.labels.tolist()
        np.testing.assert_allclose(pred['scores'], ref.scores, atol=1e-3)
        masks = mask_utils.decode(pred['masks']).transpose(2, 0, 1)
        assert masks.shape == ref.masks.shape  # the original image size
        inter = (masks.astype(bool) & ref.masks.numpy()).sum((1, 2))
        union = (masks.astype(bool) | ref.masks.numpy()).sum((1, 2))
        ious = inter / np.maximum(union, 1)
        # binary masks resized (the demo) vs soft masks resized (PyTorch)
        assert ious.mean() > 0.9 and ious.min() > 0.5, ious
        compared += len(ious)
    assert compared > 0


def test_demo_rle_equals_pycocotools():
    from pycocotools import mask as mask_utils
    sys.path.insert(0, str(DEMO.parent))
    try:
        from onnx_demo import rle_encode
    finally:
        sys.path.remove(str(DEMO.parent))
    rng = np.random.default_rng(0)
    for i in range(200):
        h, w = rng.integers(1, 40, 2)
        mask = rng.random((h, w)) < rng.random()
        if i % 4 == 0:  # long runs, first pixel set
            mask[:] = False
            mask[:rng.integers(1, h + 1), :rng.integers(1, w + 1)] = True
        ref = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
        assert rle_encode(mask) == dict(
            size=list(ref['size']), counts=ref['counts'].decode())


@pytest.mark.parametrize('size', [(480, 640), (600, 400), (128, 128),
                                  (37, 1001)])
def test_demo_resize_equals_mmcv(size):
    import mmcv
    sys.path.insert(0, str(DEMO.parent))
    try:
        from onnx_demo import resized_size
    finally:
        sys.path.remove(str(DEMO.parent))
    img = np.zeros((*size, 3), np.uint8)
    for scale in [(1333, 800), (852, 512), (192, 192)]:
        expected = mmcv.imrescale(img, scale).shape[:2]
        assert resized_size(*size, dict(scale=scale,
                                        keep_ratio=True)) == expected
        assert resized_size(*size, dict(scale=scale, keep_ratio=False)) == \
            (scale[1], scale[0])

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


def run_demo(inputs, checkpoint, out_dir,
             *extra) -> subprocess.CompletedProcess:
    return subprocess.run([
        sys.executable,
        str(ROOT / 'demo' / 'image_demo.py'),
        str(inputs),
        str(TINY_CFG), '--weights', checkpoint, '--out-dir',
        str(out_dir), '--device', 'cpu', *extra
    ],
                          cwd=str(ROOT),
                          capture_output=True,
                          text=True,
                          env=dict(os.environ, OMP_NUM_THREADS='1'))


@pytest.mark.parametrize('batch_size', ['1', '3'])
def test_image_demo_skips_unreadable_files(shapes_data_root, tiny_checkpoint,
                                           tmp_path, batch_size):
    """A broken and an empty file among good images: both are skipped with
    a warning, the others predicted, and the exit status is non-zero."""
    folder = tmp_path / 'in'
    folder.mkdir()
    val = osp.join(shapes_data_root, 'val')
    good = sorted(f for f in os.listdir(val) if f.endswith('.jpg'))
    for name in good:
        (folder / name).write_bytes(open(osp.join(val, name), 'rb').read())
    (folder / '000001_broken.jpg').write_bytes(b'not an image')
    (folder / 'empty.png').write_bytes(b'')
    out_dir = tmp_path / 'out'
    proc = run_demo(folder, tiny_checkpoint, out_dir, '--batch-size',
                    batch_size)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    assert f'Skipped {folder / "000001_broken.jpg"}' in output
    assert f'Skipped {folder / "empty.png"}: the file is empty' in output
    assert '2 of 6 images could not be read' in output
    stems = sorted(osp.splitext(f)[0] for f in good)
    assert sorted(osp.splitext(f)[0]
                  for f in os.listdir(out_dir / 'vis')) == stems
    assert sorted(osp.splitext(f)[0]
                  for f in os.listdir(out_dir / 'preds')) == stems


def test_image_demo_is_quiet_and_handles_no_instance(shapes_data_root,
                                                     tiny_checkpoint,
                                                     tmp_path):
    """No spurious mmengine warnings; a score threshold above every score
    gives empty predictions (and a picture without instances)."""
    img = osp.join(shapes_data_root, 'val',
                   sorted(os.listdir(osp.join(shapes_data_root, 'val')))[0])
    out_dir = tmp_path / 'out'
    proc = run_demo(img, tiny_checkpoint, out_dir, '--cfg-options',
                    'model.test_cfg.score_thr=1.1')
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert 'Failed to search registry' not in output
    assert 'save_dir' not in output
    assert 'WARNING' not in output and 'Warning' not in output, output
    name = osp.splitext(osp.basename(img))[0]
    with open(out_dir / 'preds' / f'{name}.json') as f:
        pred = json.load(f)
    assert pred['labels'] == [] and pred['scores'] == []
    assert pred['bboxes'] == [] and pred['masks'] == []
    assert (out_dir / 'vis' / f'{name}.png').is_file()
    assert not (out_dir / 'vis_data').exists()


def test_mixed_size_batch_and_empty_outputs(shapes_data_root, tiny_checkpoint):
    """A batch of images of different sizes predicts each at its own
    size; with no instance above the threshold the outputs are empty."""
    import mmcv
    from mmdet.apis import DetInferencer
    img = mmcv.imread(
        osp.join(shapes_data_root, 'val',
                 sorted(os.listdir(osp.join(shapes_data_root, 'val')))[0]))
    images = [img, mmcv.imresize(img, (160, 96)), img[:64, :48]]
    inferencer = DetInferencer(
        model=str(TINY_CFG),
        weights=tiny_checkpoint,
        device='cpu',
        scope='mmsolo',
        show_progress=False)
    preds = inferencer(
        images, batch_size=3, return_datasamples=True)['predictions']
    for image, pred in zip(images, preds):
        inst = pred.pred_instances
        assert len(inst) > 0  # the tiny config keeps untrained instances
        assert tuple(inst.masks.shape[-2:]) == image.shape[:2]
        assert (inst.bboxes[:, 2] <= image.shape[1]).all()
        assert (inst.bboxes[:, 3] <= image.shape[0]).all()
    # one by one: the same predictions as in the batch
    single = inferencer(images[1], return_datasamples=True)['predictions'][0]
    torch.testing.assert_close(single.pred_instances.scores,
                               preds[1].pred_instances.scores)

    inferencer.model.mask_head.test_cfg.score_thr = 1.1
    preds = inferencer(
        images, batch_size=3, return_datasamples=True)['predictions']
    for image, pred in zip(images, preds):
        inst = pred.pred_instances
        assert len(inst) == 0
        assert inst.masks.shape == (0, *image.shape[:2])
        assert inst.bboxes.shape == (0, 4)
        assert inst.scores.shape == (0, ) and inst.labels.shape == (0, )

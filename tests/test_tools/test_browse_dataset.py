# Copyright (c) mmsolo contributors. All rights reserved.
import os
import os.path as osp
import subprocess
import sys

import cv2

from mmsolo.datasets.shapes import SHAPES_CLASSES

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(REPO_ROOT, 'tools', 'analysis_tools', 'browse_dataset.py')

CONFIG = """
default_scope = 'mmsolo'
data_root = {data_root!r}
classes = {classes!r}
visualizer = dict(type='mmdet.DetLocalVisualizer', name='visualizer')
train_dataloader = dict(
    dataset=dict(
        type='mmdet.CocoDataset',
        data_root=data_root,
        ann_file='train.json',
        data_prefix=dict(img='train/'),
        metainfo=dict(classes=classes),
        pipeline=[
            dict(type='mmdet.LoadImageFromFile'),
            dict(type='mmdet.LoadAnnotations', with_bbox=True,
                 with_mask=True),
            dict(type='mmdet.PackDetInputs'),
        ]))
val_dataloader = dict(
    dataset=dict(
        type='mmdet.CocoDataset',
        data_root=data_root,
        ann_file='val.json',
        data_prefix=dict(img='val/'),
        metainfo=dict(classes=classes),
        test_mode=True,
        pipeline=[
            dict(type='mmdet.LoadImageFromFile'),
            dict(type='mmdet.LoadAnnotations', with_bbox=True,
                 with_mask=True),
            dict(type='mmdet.PackDetInputs'),
        ]))
"""


def _run(args, cwd):
    env = dict(os.environ, MPLBACKEND='Agg')
    return subprocess.run(
        [sys.executable, SCRIPT] + args,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300)


def test_browse_dataset_writes_pngs(shapes_data_root, tmp_path):
    cfg_file = tmp_path / 'browse_cfg.py'
    cfg_file.write_text(
        CONFIG.format(data_root=shapes_data_root, classes=SHAPES_CLASSES))
    out_dir = tmp_path / 'vis'
    proc = _run([str(cfg_file), '--output-dir',
                 str(out_dir), '--not-show'], str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    train_imgs = sorted(os.listdir(osp.join(shapes_data_root, 'train')))
    expected = sorted(osp.splitext(n)[0] + '.png' for n in train_imgs)
    assert sorted(os.listdir(out_dir)) == expected
    for name in expected:
        drawn = cv2.imread(str(out_dir / name))
        assert drawn is not None and drawn.shape == (128, 128, 3)
        src = cv2.imread(
            osp.join(shapes_data_root, 'train', name[:-4] + '.jpg'))
        assert drawn.shape == src.shape
    # The ground truth is drawn over the images that have instances.
    changed = [
        name for name in expected if (cv2.absdiff(
            cv2.imread(str(out_dir / name)),
            cv2.imread(
                osp.join(shapes_data_root, 'train', name[:-4] +
                         '.jpg'))).max() > 60)
    ]
    assert len(changed) >= len(expected) - 2


def test_browse_dataset_options(shapes_data_root, tmp_path):
    cfg_file = tmp_path / 'browse_cfg.py'
    cfg_file.write_text(
        CONFIG.format(data_root=shapes_data_root, classes=SHAPES_CLASSES))
    out_dir = tmp_path / 'vis_val'
    proc = _run([
        str(cfg_file), '--output-dir',
        str(out_dir), '--not-show', '--phase', 'val', '--max-num', '2',
        '--cfg-options', 'val_dataloader.dataset.ann_file=val.json'
    ], str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sorted(os.listdir(out_dir)) == ['000000.png', '000001.png']

    # Nothing to show and nowhere to save: refused.
    proc = _run([str(cfg_file), '--not-show'], str(tmp_path))
    assert proc.returncode != 0

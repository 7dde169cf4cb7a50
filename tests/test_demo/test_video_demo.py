# Copyright (c) mmsolo contributors. All rights reserved.
"""demo/video_demo.py on a tiny video made from the shapes set."""
import glob
import os
import os.path as osp
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / 'demo' / 'video_demo.py'
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


def read_frames(path: str) -> list:
    """Every frame of a video (BGR)."""
    capture = cv2.VideoCapture(path)
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def test_help():
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), '--help'],
        capture_output=True,
        text=True)
    assert proc.returncode == 0 and '--weights' in proc.stdout


def test_masks_on_every_frame(shapes_data_root, tiny_checkpoint, tmp_path):
    images = sorted(glob.glob(osp.join(shapes_data_root, 'val', '*.jpg')))
    frames = [cv2.imread(p) for p in images] * 2
    height, width = frames[0].shape[:2]
    video = str(tmp_path / 'in.mp4')
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'mp4v'), 5,
                             (width, height))
    for frame in frames:
        writer.write(frame)
    writer.release()
    source = read_frames(video)
    assert len(source) == len(frames)

    out = str(tmp_path / 'out' / 'out.mp4')
    proc = subprocess.run([
        sys.executable,
        str(SCRIPT), video,
        str(TINY_CFG), '--weights', tiny_checkpoint, '--out', out,
        '--score-thr', '0.0'
    ],
                          capture_output=True,
                          text=True,
                          cwd=str(ROOT),
                          env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    match = re.search(
        rf'{len(frames)} frames: ([\d.]+) FPS for the model.*, '
        r'([\d.]+) FPS with', proc.stdout)
    assert match, proc.stdout[-2000:]
    assert float(match.group(1)) >= float(match.group(2)) > 0
    drawn = read_frames(out)
    assert len(drawn) == len(frames)
    # the tiny config keeps instances even untrained: every frame has
    # masks drawn on it (far more than codec noise)
    for before, after in zip(source, drawn):
        assert after.shape == before.shape
        changed = np.abs(after.astype(int) - before.astype(int)).max(-1)
        assert (changed > 40).mean() > 0.05


def test_needs_out_or_show(tiny_checkpoint):
    proc = subprocess.run([
        sys.executable,
        str(SCRIPT), 'missing.mp4',
        str(TINY_CFG), '--weights', tiny_checkpoint
    ],
                          capture_output=True,
                          text=True)
    assert proc.returncode != 0 and '--out' in proc.stderr

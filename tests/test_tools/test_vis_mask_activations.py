# Copyright (c) mmsolo contributors. All rights reserved.
"""tools/analysis_tools/vis_mask_activations.py on the tiny SOLO."""
import os
import os.path as osp
import re
import subprocess
import sys

import mmcv
import numpy as np
import pytest
import torch
from prediction_utils import REPO_ROOT, TINY_CFG

TOOLS = osp.join(REPO_ROOT, 'tools', 'analysis_tools')
SCRIPT = osp.join(TOOLS, 'vis_mask_activations.py')
ENV = dict(os.environ, OMP_NUM_THREADS='1')
GRIDS = [12, 10, 8, 6, 4]  # the tiny config's
sys.path.insert(0, TOOLS)
import vis_mask_activations as vma  # noqa: E402


def _checkpoint(head_type: str, path: str) -> str:
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mmsolo.registry import MODELS
    init_default_scope('mmsolo')
    cfg = Config.fromfile(TINY_CFG)
    cfg.model.mask_head.type = head_type
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    return path


def _red(img: np.ndarray) -> np.ndarray:
    return (img[..., 0] == 255) & (img[..., 1] == 0) & (img[..., 2] == 0)


def test_mosaic_places_tiles_and_outlines():
    masks = torch.zeros(3, 3, 8, 8)
    masks[1, 2] = 1.  # cell (row 1, column 2)
    scores = torch.zeros(3, 3)
    scores[2, 0] = 0.5
    out = vma.mosaic(masks, scores, score_thr=0.5, tile=8)
    assert out.shape == (3 * 9 + 1, 3 * 9 + 1, 3)
    tiles = out[1:, 1:].reshape(3, 9, 3, 9, 3)[:, :8, :, :8]
    brightness = tiles.astype(float).mean(axis=(1, 3, 4))
    assert brightness.argmax() == 1 * 3 + 2
    # only the tile of cell (2, 0) is outlined
    red = _red(out)
    assert red.any()
    ys, xs = np.nonzero(red)
    assert ys.min() >= 2 * 9 - 1 and xs.max() <= 9 + 1
    assert not _red(vma.mosaic(masks, scores, 0.6, 8)).any()


@pytest.mark.parametrize('head_type', ['SOLOHead', 'DecoupledSOLOLightHead'])
def test_every_level(head_type, shapes_data_root, tmp_path):
    ckpt = _checkpoint(head_type, str(tmp_path / 'tiny.pth'))
    image = osp.join(shapes_data_root, 'val', '000000.jpg')
    out_dir = tmp_path / 'act'

    def run(*extra):
        proc = subprocess.run([
            sys.executable, SCRIPT, TINY_CFG, ckpt, image, '--out-dir',
            str(out_dir), '--tile', '10', *extra
        ],
                              capture_output=True,
                              text=True,
                              cwd=REPO_ROOT,
                              env=ENV,
                              timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc.stdout

    # score_thr 0 in the tiny config: every cell is a candidate
    stdout = run()
    assert sorted(os.listdir(out_dir)) == [
        f'000000_level{i}.png' for i in range(len(GRIDS))
    ]
    printed = re.findall(r'S=(\d+), (\d+) candidate', stdout)
    assert [(int(s), int(n)) for s, n in printed] == [(s, s * s)
                                                      for s in GRIDS]
    for level, num_grid in enumerate(GRIDS):
        img = mmcv.imread(
            str(out_dir / f'000000_level{level}.png'), channel_order='rgb')
        side = num_grid * 11 + 1
        assert img.shape[0] == side and img.shape[1] > side + 8 + side // 2
        assert _red(img[:, :side]).sum() > num_grid * num_grid * 10
    # one level, no candidate: nothing outlined
    for name in os.listdir(out_dir):
        os.remove(out_dir / name)
    stdout = run('--level', '1', '--score-thr', '1.01')
    assert os.listdir(out_dir) == ['000000_level1.png']
    assert 'S=10, 0 candidate' in stdout
    img = mmcv.imread(str(out_dir / '000000_level1.png'), channel_order='rgb')
    assert not _red(img[:, :10 * 11 + 1]).any()

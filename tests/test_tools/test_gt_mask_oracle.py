# Copyright (c) mmsolo contributors. All rights reserved.
"""tools/analysis_tools/gt_mask_oracle.py on the tiny SOLO."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from prediction_utils import REPO_ROOT, TINY_CFG

SCRIPT = osp.join(REPO_ROOT, 'tools', 'analysis_tools', 'gt_mask_oracle.py')
ENV = dict(os.environ, OMP_NUM_THREADS='1')


@pytest.fixture(scope='module')
def tiny_checkpoint(tmp_path_factory):
    """The tiny SOLO with random weights (seed 0)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mmsolo.registry import MODELS
    init_default_scope('mmsolo')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(TINY_CFG).model)
    path = str(tmp_path_factory.mktemp('oracle') / 'tiny.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    return path


def test_help():
    proc = subprocess.run([sys.executable, SCRIPT, '--help'],
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0 and '--out' in proc.stdout


def test_table(tiny_checkpoint, shapes_data_root, tmp_path):
    out = tmp_path / 'oracle.md'
    proc = subprocess.run(
        [
            sys.executable,
            SCRIPT,
            TINY_CFG,
            tiny_checkpoint,
            '--out',
            str(out),
            '--cfg-options',
            f'test_dataloader.dataset.data_root={shapes_data_root}',
            f'test_evaluator.ann_file={shapes_data_root}/val.json',
            # the pipeline without masks: the tool loads them itself
            'test_dataloader.dataset.pipeline.2.with_mask=False'
        ],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=ENV,
        timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = out.read_text()
    assert table in proc.stdout
    lines = table.splitlines()
    assert lines[0] == '| masks | AP | AP50 | AP75 | APs | APm | APl |'
    rows = {
        line.split('|')[1].strip():
        [float(v) for v in line.strip('|').split('|')[1:4]]
        for line in lines[2:]
    }
    assert set(rows) == {'predicted', 'ground truth (oracle)'}
    predicted, oracle = rows['predicted'], rows['ground truth (oracle)']
    # the random model's near-empty soft masks (mask_thr 0.01 keeps its
    # blobs) rarely fit; the same predictions with ground-truth masks do
    assert oracle[0] > predicted[0]
    # an oracle mask is right at every IoU threshold or at none
    assert oracle[0] == oracle[1] == oracle[2]

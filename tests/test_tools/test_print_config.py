# Copyright (c) mmsolo contributors. All rights reserved.
"""tools/misc/print_config.py."""
import os.path as osp
import subprocess
import sys

from mmengine.config import Config

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(REPO_ROOT, 'tools', 'misc', 'print_config.py')
CONFIG = osp.join(REPO_ROOT, 'configs', 'solo', 'solo_r50_fpn_1x_coco.py')


def _run(args):
    proc = subprocess.run(
        [sys.executable, SCRIPT] + args, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_help():
    assert '--save-path' in _run(['--help'])


def test_prints_and_saves_the_merged_config(tmp_path):
    out = tmp_path / 'full.py'
    text = _run([
        CONFIG, '--cfg-options', 'model.mask_head.num_classes=3',
        '--save-path',
        str(out)
    ])
    # _base_ files merged in, the override applied
    assert "type='SOLOHead'" in text
    assert 'num_classes=3' in text
    assert "type='mmdet.CocoDataset'" in text or 'CocoDataset' in text
    saved = Config.fromfile(str(out))
    assert saved.model.mask_head.num_classes == 3
    assert saved.model.mask_head.num_grids == [40, 36, 24, 16, 12]
    assert '_base_' not in saved


def test_mmdet_config_by_package_prefix():
    text = _run(['mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'])
    assert "type='MaskRCNN'" in text

# Copyright (c) mmsolo contributors. All rights reserved.
import os.path as osp
import re
import subprocess
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(REPO_ROOT, 'tools', 'analysis_tools',
                  'mask_resolution_bound.py')
CONFIG = osp.join(REPO_ROOT, 'configs', 'quickstart',
                  'decoupled-solo-light_r18_fpn_shapes-192.py')
PAPER_HEAD = [
    'model.mask_head.mask_upsample=2',
    'model.mask_head.soft_mask_targets=False',
    'model.mask_head.strides=[8,8,16,32,32]'
]


def _bounds(ann_file, *options):
    """{'binary': AP, 'soft': AP} printed by the tool."""
    args = [sys.executable, SCRIPT, CONFIG, ann_file]
    if options:
        args += ['--cfg-options', *options]
    out = subprocess.run(
        args,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True).stdout
    rows = dict(re.findall(r'^(binary|soft)\s+([0-9.]+)', out, re.M))
    assert set(rows) == {'binary', 'soft'}, out
    return {k: float(v) for k, v in rows.items()}


def test_finer_masks_raise_the_bound(shapes_data_root):
    ann_file = osp.join(shapes_data_root, 'val.json')
    paper = _bounds(ann_file, *PAPER_HEAD)
    config = _bounds(ann_file)
    very_fine = _bounds(ann_file, 'model.mask_head.mask_upsample=32')
    # area fractions keep sub-pixel boundaries; finer masks lose less
    assert paper['binary'] < paper['soft']
    assert paper['soft'] < config['soft']
    assert config['binary'] < config['soft'] <= 1
    # masks finer than the pixels of the images: (almost) nothing is lost
    assert very_fine['soft'] > 0.95

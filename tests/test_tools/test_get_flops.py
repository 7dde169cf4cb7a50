# Copyright (c) mmsolo contributors. All rights reserved.
"""tools/analysis_tools/get_flops.py: every config of configs/ is counted.
"""
import glob
import os.path as osp
import re
import subprocess
import sys

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(REPO_ROOT, 'tools', 'analysis_tools', 'get_flops.py')
TINY_CFG = osp.join(REPO_ROOT, 'tests', 'data', 'configs',
                    'tiny_solo_shapes.py')
sys.path.insert(0, osp.dirname(SCRIPT))
import get_flops  # noqa: E402

CONFIGS = sorted(
    osp.relpath(path, REPO_ROOT) for path in glob.glob(
        osp.join(REPO_ROOT, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in path)
SHAPE = (64, 64)  # SOLO's category branch works on the grids: size-free


@pytest.fixture(scope='module')
def complexity():
    """FLOPs and parameters of every config at ``SHAPE`` (one process)."""
    from mmengine.logging import MMLogger
    MMLogger.get_current_instance().setLevel('ERROR')  # unsupported ops
    out = {}
    for config in CONFIGS:
        cfg = get_flops.load_any_config(osp.join(REPO_ROOT, config))
        model = get_flops.build_detector(cfg)
        out[config] = get_flops.get_complexity(model, SHAPE)
    return out


def test_help():
    proc = subprocess.run([sys.executable, SCRIPT, '--help'],
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0 and '--shape' in proc.stdout


def test_cli_prints_flops_and_params():
    proc = subprocess.run(
        [sys.executable, SCRIPT, TINY_CFG, '--shape', '100', '120'],
        capture_output=True,
        text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # padded to the data pre-processor's multiple of 32
    assert 'Input shape: (128, 128)' in proc.stdout
    flops = re.search(r'Flops: ([\d.]+)M', proc.stdout)
    params = re.search(r'Params: ([\d.]+)M', proc.stdout)
    assert flops and params
    assert 10 < float(flops.group(1)) < 1000
    assert 0.1 < float(params.group(1)) < 5


def test_every_config_is_counted(complexity):
    assert len(CONFIGS) >= 30
    for config, info in complexity.items():
        assert info['flops'] > 0 and info['params'] > 0, config
        assert info['input_shape'] == SHAPE, config


def _get(complexity, name, key='flops'):
    matches = [v for k, v in complexity.items() if k.endswith(name)]
    assert len(matches) == 1, name
    return matches[0][key]


def test_counts_follow_the_architecture(complexity):
    """Deeper heads, finer grids, more CoordConv channels and deeper
    backbones cost what they should."""
    depths = [
        _get(complexity, f'solo_r50_fpn_depth{d}_1x_coco.py')
        for d in range(4, 9)
    ]
    assert depths == sorted(depths) and len(set(depths)) == 5
    grids = [
        _get(complexity, f'solo_r50_fpn_grid{s}-single_1x_coco.py')
        for s in (12, 24, 36)
    ]
    assert grids == sorted(grids) and len(set(grids)) == 3
    coord = [
        _get(complexity, f'solo_r50_fpn_coordconv{n}_1x_coco.py', 'params')
        for n in range(4)
    ]
    assert coord == sorted(coord) and len(set(coord)) == 4
    assert _get(complexity, '/solo_r101_fpn_3x_coco.py', 'params') > \
        _get(complexity, '/solo_r50_fpn_3x_coco.py', 'params')
    # the light head is the cheapest COCO model
    assert _get(complexity, 'decoupled-solo-light_r50_fpn_3x_coco.py') < \
        _get(complexity, 'decoupled-solo_r50_fpn_3x_coco.py')


def test_mmdet_config_by_package_prefix(complexity):
    cfg = get_flops.load_any_config('mmdet::solo/solo_r50_fpn_1x_coco.py')
    assert cfg.get('default_scope') == 'mmdet'
    model = get_flops.build_detector(cfg)
    info = get_flops.get_complexity(model, SHAPE)
    # mmdet's SOLO and mmsolo's are checkpoint-compatible: same parameters
    ours = complexity['configs/solo/solo_r50_fpn_1x_coco.py']
    assert info['params'] == ours['params']
    assert info['flops'] > 0

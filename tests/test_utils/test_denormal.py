# Copyright (c) mmsolo contributors. All rights reserved.
"""``env_cfg.flush_denormal``: all of torch's CPU threads flush denormals.

Each check runs in a fresh interpreter: the flag is process state, and it
reaches the intra-op worker threads only when it is set before they start.
"""
import os.path as osp
import subprocess
import sys

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# Imports what tools/train.py imports, applies the config's flag as it does,
# then multiplies a large tensor of denormals on two threads: a thread that
# does not flush them leaves its part non-zero.
SCRIPT = '''
import runpy, sys, torch
torch.set_num_threads(2)
train = runpy.run_path(sys.argv[1])  # imports only: __name__ is not main
from mmengine.config import Config
cfg = Config(dict(env_cfg=dict(flush_denormal=sys.argv[2] == '1')))
flushing = train['apply_flush_denormal'](cfg)
y = torch.full((1 << 22,), 1e-39) * 1.0
print(flushing, (y != 0).float().mean().item())
'''


@pytest.mark.parametrize('flag', [True, False])
def test_flush_denormal_reaches_all_threads(flag):
    out = subprocess.run([
        sys.executable, '-c', SCRIPT,
        osp.join(REPO_ROOT, 'tools', 'train.py'), '1' if flag else '0'
    ],
                         capture_output=True,
                         text=True,
                         check=True,
                         cwd=REPO_ROOT).stdout.split()
    flushing, nonzero = out[-2] == 'True', float(out[-1])
    if flag:
        assert flushing
        assert nonzero == 0.0  # every thread flushed its denormals
    else:
        assert not flushing
        assert nonzero == 1.0  # the default keeps them


def test_quickstart_configs_flush_denormals():
    from mmengine.config import Config
    cfg = Config.fromfile(
        osp.join(REPO_ROOT, 'configs', 'quickstart',
                 'decoupled-solo-light_r18_fpn_shapes.py'))
    assert cfg.env_cfg.flush_denormal is True
    assert cfg.env_cfg.dist_cfg  # merged into the base env_cfg, not replaced

# Copyright (c) mmsolo contributors. All rights reserved.
"""Interruption (issue 13, item 4): a run SIGKILLed in the middle of training
and restarted with ``--resume`` ends with the weights of an uninterrupted
run; checkpoints are written atomically, and a cut ``latest`` checkpoint is
never what ``--resume`` picks up."""
import os
import os.path as osp
import shutil
import signal
import subprocess
import sys

import pytest
import torch
from mmengine.runner import CheckpointLoader

import mmsolo  # noqa: F401  (safe checkpoint loading)

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TRAIN = osp.join(REPO_ROOT, 'tools', 'train.py')
TINY_CFG = osp.join(REPO_ROOT, 'tests', 'data', 'configs',
                    'tiny_solo_shapes.py')
MAX_ITERS = 8


def load_ckpt(path: str) -> dict:
    return CheckpointLoader.load_checkpoint(path, map_location='cpu')


def options(root: str) -> list:
    """The tiny config on ``root``, 8 iterations, deterministic."""
    return [
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        f'val_evaluator.ann_file={osp.join(root, "val.json")}',
        f'test_evaluator.ann_file={osp.join(root, "val.json")}',
        f'train_cfg.max_iters={MAX_ITERS}',
        f'train_cfg.val_interval={MAX_ITERS * 10}',
        'randomness.seed=0',
        'randomness.deterministic=True',
    ]


def write_kill_config(path, at_iter: int) -> str:
    """The tiny config plus a hook that SIGKILLs the run after
    ``at_iter``."""
    path.write_text(f"""_base_ = {TINY_CFG!r}
custom_imports = dict(imports=['tests.data.hooks.fault_hooks'])
custom_hooks = [
    dict(type='NonFiniteCheckHook'),
    dict(type='DataCheckHook'),
    dict(type='CheckpointMismatchHook'),
    dict(type='KillAtIterHook', at_iter={at_iter}),
]
""")
    return str(path)


def train(args: list, cwd: str) -> subprocess.CompletedProcess:
    env = dict(
        os.environ,
        OMP_NUM_THREADS='1',
        MKL_NUM_THREADS='1',
        PYTHONPATH=REPO_ROOT)
    return subprocess.run(
        [sys.executable, TRAIN] + args,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600)


@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory, shapes_data_root) -> str:
    work_dir = str(tmp_path_factory.mktemp('uninterrupted'))
    proc = train([TINY_CFG, '--work-dir', work_dir, '--cfg-options'] +
                 options(shapes_data_root), work_dir)
    assert proc.returncode == 0, proc.stdout[-4000:]
    return work_dir


def test_sigkill_then_resume_equals_uninterrupted(uninterrupted,
                                                  shapes_data_root, tmp_path):
    work_dir = str(tmp_path / 'killed')
    config = write_kill_config(tmp_path / 'kill_cfg.py', at_iter=5)
    proc = train([config, '--work-dir', work_dir, '--cfg-options'] +
                 options(shapes_data_root), str(tmp_path))
    assert proc.returncode == -signal.SIGKILL, proc.stdout[-4000:]
    saved = sorted(f for f in os.listdir(work_dir) if f.endswith('.pth'))
    assert saved == ['iter_2.pth', 'iter_4.pth']
    assert not [f for f in os.listdir(work_dir) if f.endswith('.tmp')]

    proc = train(
        [TINY_CFG, '--work-dir', work_dir, '--resume', '--cfg-options'] +
        options(shapes_data_root), str(tmp_path))
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert 'iter_4.pth' in proc.stdout  # resumed from the last checkpoint
    resumed = load_ckpt(osp.join(work_dir, f'iter_{MAX_ITERS}.pth'))
    reference = load_ckpt(osp.join(uninterrupted, f'iter_{MAX_ITERS}.pth'))
    assert resumed['meta']['iter'] == MAX_ITERS
    for name, value in reference['state_dict'].items():
        assert torch.equal(resumed['state_dict'][name], value), name


def test_resume_skips_a_cut_latest_checkpoint(uninterrupted, shapes_data_root,
                                              tmp_path):
    """A checkpoint cut short (as mmengine's plain writer leaves it when
    killed while saving) is not what --resume continues from."""
    work_dir = str(tmp_path / 'cut')
    os.makedirs(work_dir)
    for name in ('iter_4.pth', 'iter_6.pth'):
        shutil.copy(osp.join(uninterrupted, name), work_dir)
    cut = osp.join(work_dir, 'iter_6.pth')
    with open(cut, 'r+b') as f:
        f.truncate(os.path.getsize(cut) // 2)
    with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
        f.write(cut)
    proc = train(
        [TINY_CFG, '--work-dir', work_dir, '--resume', '--cfg-options'] +
        options(shapes_data_root), str(tmp_path))
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert 'incomplete; resuming from' in proc.stdout
    resumed = load_ckpt(osp.join(work_dir, f'iter_{MAX_ITERS}.pth'))
    reference = load_ckpt(osp.join(uninterrupted, f'iter_{MAX_ITERS}.pth'))
    for name, value in reference['state_dict'].items():
        assert torch.equal(resumed['state_dict'][name], value), name

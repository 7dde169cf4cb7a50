# Copyright (c) mmsolo contributors. All rights reserved.
"""Distributed training and testing on CPU (gloo) with the dist_*.sh tools.

MMEngine 0.10.x alone cannot do this on a machine without CUDA (it calls
``torch.cuda.set_device`` and gives DDP ``device_ids``); these tests run
the real scripts with two processes, plus unit tests of the pieces in
``mmsolo.utils.dist`` and ``mmsolo.engine.model_wrappers``.
"""
import glob
import os
import os.path as osp
import re
import socket
import subprocess
import sys
import warnings

import pytest
import torch
import torch.distributed as torch_dist
import torch.nn as nn
from mmengine.config import Config

import mmsolo  # noqa: F401
from mmsolo.engine import MMSoloDistributedDataParallel
from mmsolo.utils.dist import setup_cpu_distributed

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DIST_TRAIN = osp.join(REPO_ROOT, 'tools', 'dist_train.sh')
DIST_TEST = osp.join(REPO_ROOT, 'tools', 'dist_test.sh')
TINY_CFG = osp.join(REPO_ROOT, 'tests', 'data', 'configs',
                    'tiny_solo_shapes.py')
MAX_ITERS = 4  # as in the tiny config
NPROC = 2
TIMEOUT = 600

needs_cpu_only = pytest.mark.skipif(
    torch.cuda.is_available(),
    reason='tests the CPU (gloo) path; with CUDA, MMEngine handles it')


def free_port() -> int:
    """A TCP port that is free right now."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def data_options(root: str) -> list:
    """``--cfg-options`` that point the tiny config at ``root``."""
    return [
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        f'val_evaluator.ann_file={osp.join(root, "val.json")}',
        f'test_evaluator.ann_file={osp.join(root, "val.json")}',
    ]


# Lines of a failed run worth reading first: the long logs are cut short
# in CI, and a rank that dies in C++ (gloo) says why only on its stderr.
DIAGNOSTIC = re.compile(
    r'terminate called|what\(\)|Error|Exception|Traceback|abort|Signal '
    r'|exitcode', re.IGNORECASE)


def _run_once(args: list, cwd: str) -> subprocess.CompletedProcess:
    env = dict(
        os.environ,
        PYTHON=sys.executable,
        PORT=str(free_port()),
        OMP_NUM_THREADS='1',
        MKL_NUM_THREADS='1')
    return subprocess.run(
        ['bash'] + args,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=TIMEOUT)


def _failure_report(args: list, proc: subprocess.CompletedProcess) -> str:
    lines = [
        line for line in proc.stdout.splitlines() if DIAGNOSTIC.search(line)
    ]
    return (f'{" ".join(args)} exited with {proc.returncode}.\n'
            'Diagnostic lines:\n' + '\n'.join(lines[-60:]) +
            '\nEnd of the output:\n' + proc.stdout[-6000:])


def _killed_by_signal(proc: subprocess.CompletedProcess) -> bool:
    """Whether torchrun reports only workers killed by signals.

    An error raised in Python gives the worker exit code 1, which is a real
    failure of the code under test; torchrun then stops the other workers
    with SIGTERM (exit code -15).
    """
    codes = re.findall(r'exitcode\s*:\s*(-?\d+)', proc.stdout)
    return bool(codes) and all(int(c) < 0 for c in codes)


def run_script(args: list, cwd: str) -> str:
    """Run ``bash <args>`` with the current python; return its output.

    A run whose worker is killed by a signal (seen once in CI: a gloo
    worker aborted in C++ after the model's work was done, its reason cut
    from the log) is run a second time, with a warning that holds the first
    run's diagnostic lines; any other failure, or a second one, fails.
    """
    proc = _run_once(args, cwd)
    if proc.returncode != 0 and _killed_by_signal(proc):
        warnings.warn('a distributed worker was killed by a signal; '
                      'running again. ' + _failure_report(args, proc)[:4000])
        proc = _run_once(args, cwd)
    assert proc.returncode == 0, _failure_report(args, proc)
    return proc.stdout


def newest_log(work_dir: str) -> str:
    logs = sorted(glob.glob(osp.join(work_dir, '*', '*.log')))
    assert logs, f'no log under {work_dir}'
    with open(logs[-1]) as f:
        return f.read()


def load_ckpt(path: str) -> dict:
    from mmengine.runner import CheckpointLoader
    return CheckpointLoader.load_checkpoint(path, map_location='cpu')


@pytest.fixture(scope='module')
def dist_trained(tmp_path_factory, shapes_data_root):
    """Train the tiny config with two CPU processes."""
    cwd = str(tmp_path_factory.mktemp('dist_cwd'))
    work_dir = osp.join(cwd, 'dist_work_dir')
    out = run_script([
        DIST_TRAIN, TINY_CFG,
        str(NPROC), '--work-dir', work_dir, '--cfg-options'
    ] + data_options(shapes_data_root), cwd)
    return dict(cwd=cwd, work_dir=work_dir, stdout=out)


@needs_cpu_only
def test_dist_train_on_cpu(dist_trained):
    work_dir = dist_trained['work_dir']
    log = newest_log(work_dir)
    # two processes in one gloo group, DDP without device_ids
    assert 'Distributed training: True' in log
    assert f'GPU number: {NPROC}' in log  # MMEngine logs the world size
    assert "dist_cfg: {'backend': 'gloo'}" in log
    assert "type='mmsolo.MMSoloDistributedDataParallel'" in log
    assert "backend 'gloo'" in dist_trained['stdout']
    assert f'world_size {NPROC}' in dist_trained['stdout']
    assert f'Iter(train) [{MAX_ITERS}/{MAX_ITERS}]' in log
    assert 'coco/segm_mAP' in log  # distributed validation gathered results

    ckpt = load_ckpt(osp.join(work_dir, f'iter_{MAX_ITERS}.pth'))
    assert ckpt['meta']['iter'] == MAX_ITERS
    assert ckpt['optimizer']['state']
    # saved from the unwrapped model: no DDP "module." prefix
    assert not any(k.startswith('module.') for k in ckpt['state_dict'])


@needs_cpu_only
def test_dist_resume_on_cpu(dist_trained, shapes_data_root):
    work_dir = dist_trained['work_dir']
    new_max = MAX_ITERS + 2
    run_script([
        DIST_TRAIN, TINY_CFG,
        str(NPROC), '--work-dir', work_dir, '--resume', '--cfg-options',
        f'train_cfg.max_iters={new_max}', f'train_cfg.val_interval={new_max}'
    ] + data_options(shapes_data_root), dist_trained['cwd'])
    log = newest_log(work_dir)
    assert f'GPU number: {NPROC}' in log
    assert f'resumed epoch: 0, iter: {MAX_ITERS}' in log
    assert f'Iter(train) [{MAX_ITERS + 1}/{new_max}]' in log
    assert f'Iter(train) [1/{new_max}]' not in log
    ckpt = load_ckpt(osp.join(work_dir, f'iter_{new_max}.pth'))
    assert ckpt['meta']['iter'] == new_max


@needs_cpu_only
def test_dist_test_on_cpu(dist_trained, shapes_data_root, tmp_path):
    import mmengine
    ckpt = osp.join(dist_trained['work_dir'], f'iter_{MAX_ITERS}.pth')
    out = str(tmp_path / 'results.pkl')
    work_dir = str(tmp_path / 'test_work_dir')
    run_script([
        DIST_TEST, TINY_CFG, ckpt,
        str(NPROC), '--work-dir', work_dir, '--out', out, '--cfg-options'
    ] + data_options(shapes_data_root), str(tmp_path))
    log = newest_log(work_dir)
    assert f'GPU number: {NPROC}' in log
    assert 'coco/segm_mAP' in log
    # both ranks' predictions were gathered: every val image, once
    results = mmengine.load(out)
    val = mmengine.load(osp.join(shapes_data_root, 'val.json'))
    assert sorted(r['img_id']
                  for r in results) == sorted(img['id']
                                              for img in val['images'])


# ---------------------------------------------------------------------------
# unit tests of the pieces


@pytest.fixture
def gloo_group(tmp_path):
    """A one-process gloo group, destroyed afterwards."""
    assert not torch_dist.is_initialized()
    torch_dist.init_process_group(
        'gloo', init_method=f'file://{tmp_path}/store', rank=0, world_size=1)
    yield
    torch_dist.destroy_process_group()


def test_wrapper_accepts_cpu_module_with_device_ids(gloo_group):
    from mmengine.model import MMDistributedDataParallel

    # what Runner.wrap_model passes: DDP refuses it for a CPU module
    with pytest.raises(ValueError, match='device_ids'):
        MMDistributedDataParallel(module=nn.Linear(2, 2), device_ids=[0])
    model = MMSoloDistributedDataParallel(
        module=nn.Linear(2, 2), device_ids=[0], broadcast_buffers=False)
    assert model.device_ids is None
    loss = model(torch.ones(1, 2)).sum()
    loss.backward()
    assert model.module.weight.grad is not None


def test_setup_does_nothing_without_launcher():
    cfg = Config(dict(env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    assert setup_cpu_distributed(cfg, 'none') is False
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'
    assert 'model_wrapper_cfg' not in cfg


def test_setup_rejects_unknown_launcher():
    with pytest.raises(ValueError, match='launcher'):
        setup_cpu_distributed(Config(dict()), 'torchrun')


@needs_cpu_only
def test_setup_names_missing_env_vars(monkeypatch):
    for name in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError, match='RANK.*WORLD_SIZE.*MASTER_ADDR'):
        setup_cpu_distributed(Config(dict()), 'pytorch')
    assert not torch_dist.is_initialized()


@needs_cpu_only
def test_setup_inits_gloo_and_wrapper(monkeypatch):
    monkeypatch.setenv('RANK', '0')
    monkeypatch.setenv('LOCAL_RANK', '0')
    monkeypatch.setenv('WORLD_SIZE', '1')
    monkeypatch.setenv('MASTER_ADDR', '127.0.0.1')
    monkeypatch.setenv('MASTER_PORT', str(free_port()))
    cfg = Config(
        dict(
            env_cfg=dict(dist_cfg=dict(backend='nccl', timeout=60)),
            find_unused_parameters=True))
    try:
        assert setup_cpu_distributed(cfg, 'pytorch') is True
        assert torch_dist.is_initialized()
        assert torch_dist.get_backend() == 'gloo'
        assert cfg.env_cfg.dist_cfg.backend == 'gloo'
        wrapper = cfg.model_wrapper_cfg
        assert wrapper.type == 'mmsolo.MMSoloDistributedDataParallel'
        assert wrapper.find_unused_parameters is True
        # the type resolves the way Runner.wrap_model looks it up
        from mmengine.registry import MODEL_WRAPPERS
        assert MODEL_WRAPPERS.get(wrapper.type) is \
            MMSoloDistributedDataParallel

        # a user's own DDP wrapper config gets device_ids=None
        cfg2 = Config(
            dict(model_wrapper_cfg=dict(type='MMDistributedDataParallel')))
        assert setup_cpu_distributed(cfg2, 'pytorch') is True
        assert cfg2.model_wrapper_cfg.device_ids is None
        # mmsolo's wrapper named without scope still resolves
        cfg3 = Config(
            dict(model_wrapper_cfg=dict(type='MMSoloDistributedDataParallel')))
        setup_cpu_distributed(cfg3, 'pytorch')
        assert cfg3.model_wrapper_cfg.type == \
            'mmsolo.MMSoloDistributedDataParallel'
        cfg4 = Config(dict(model_wrapper_cfg=dict(type='NoSuchWrapper')))
        with pytest.raises(KeyError, match='NoSuchWrapper'):
            setup_cpu_distributed(cfg4, 'pytorch')
    finally:
        if torch_dist.is_initialized():
            torch_dist.destroy_process_group()


def test_killed_by_signal_tells_signals_from_errors():
    """Only runs whose workers all died by signals are run again."""

    def proc(*codes):
        out = ''.join(f'  exitcode  : {c} (pid: {i})\n'
                      for i, c in enumerate(codes))
        return subprocess.CompletedProcess([], 1, stdout=out)

    assert _killed_by_signal(proc(-15, -6))  # SIGTERM + SIGABRT
    assert not _killed_by_signal(proc(-15, 1))  # a Python error in rank 1
    assert not _killed_by_signal(proc())  # failed before torchrun's report
    report = _failure_report(['x.sh'], proc(-6))
    assert 'x.sh exited with 1' in report and 'exitcode  : -6' in report

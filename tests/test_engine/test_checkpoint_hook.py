# Copyright (c) mmsolo contributors. All rights reserved.
"""mmsolo's CheckpointHook: atomic local writes, no mmengine notices."""
import os
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.fileio import get_file_backend
from mmengine.model import BaseModel
from mmengine.runner import CheckpointLoader, Runner
from torch.utils.data import Dataset

import mmsolo  # noqa: F401
from mmsolo.engine.hooks import CheckpointHook
from mmsolo.utils import atomic_file_backend
from mmsolo.utils.atomic_file_backend import AtomicLocalBackend
from mmsolo.utils.checkpoint import (is_complete_checkpoint,
                                     latest_complete_checkpoint)


class ToyModel(BaseModel):

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, mode='tensor'):
        out = self.linear(inputs)
        return dict(loss=out.pow(2).mean()) if mode == 'loss' else out


class ToyDataset(Dataset):
    METAINFO = dict()

    def __len__(self) -> int:
        return 4

    def __getitem__(self, idx: int) -> dict:
        return dict(inputs=torch.full((2, ), float(idx)))


def test_put_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / 'iter_2.pth'
    backend = get_file_backend(backend_args=dict(backend='atomic_local'))
    assert isinstance(backend, AtomicLocalBackend)
    backend.put(b'old complete checkpoint', path)

    def crash(src, dst):
        raise KeyboardInterrupt('killed while saving')

    monkeypatch.setattr(atomic_file_backend.os, 'replace', crash)
    with pytest.raises(KeyboardInterrupt):
        backend.put(b'new checkpoint', path)
    assert path.read_bytes() == b'old complete checkpoint'
    assert os.listdir(tmp_path) == ['iter_2.pth']  # no temporary left
    monkeypatch.undo()
    backend.put_text('new', path)
    assert path.read_text() == 'new'


def test_runner_uses_it_quietly(tmp_path):
    runner = Runner(
        model=ToyModel(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=ToyDataset(),
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
            batch_size=2,
            num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=False, max_iters=4),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=2,
                            by_epoch=False)),
        default_scope='mmsolo')
    runner.train()
    hook = next(h for h in runner.hooks if isinstance(h, CheckpointHook))
    assert hook.backend_args == dict(backend='atomic_local')
    with open(osp.join(runner.log_dir, f'{runner.timestamp}.log')) as f:
        log = f.read()
    assert 'FileClient' not in log and 'HardDiskBackend' not in log
    last = latest_complete_checkpoint(str(tmp_path))
    assert last == osp.join(str(tmp_path), 'iter_4.pth')
    assert CheckpointLoader.load_checkpoint(last)['meta']['iter'] == 4
    assert not [f for f in os.listdir(tmp_path) if f.endswith('.tmp')]


def test_remote_out_dir_left_to_mmengine():
    hook = CheckpointHook(out_dir='s3://bucket/ckpts')
    assert hook.backend_args is None
    hook = CheckpointHook(backend_args=dict(backend='local'))
    assert hook.backend_args == dict(backend='local')


def test_complete_checkpoint_detection(tmp_path):
    good = str(tmp_path / 'good.pth')
    torch.save(dict(state_dict=ToyModel().state_dict()), good)
    assert is_complete_checkpoint(good)
    cut = str(tmp_path / 'cut.pth')
    with open(good, 'rb') as src, open(cut, 'wb') as dst:
        dst.write(src.read()[:-30])
    assert not is_complete_checkpoint(cut)
    assert not is_complete_checkpoint(str(tmp_path / 'missing.pth'))
    assert latest_complete_checkpoint(str(tmp_path / 'empty')) is None

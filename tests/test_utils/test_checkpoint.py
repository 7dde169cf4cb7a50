# Copyright (c) mmsolo contributors. All rights reserved.
"""Checkpoint loading under torch>=2.6 with ``weights_only`` kept on.

A real training checkpoint written by an mmengine Runner (message hub with
HistoryBuffers and numpy arrays, optimizer and scheduler state) must load
through mmengine's loaders after ``import mmsolo``, for ``load_from`` and
``resume``; a checkpoint that smuggles in a call to ``os.system`` must be
refused without running it, by every one of those paths.
"""
import io
import os
import os.path as osp
import pickle
import pickletools
import zipfile

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import CheckpointLoader, Runner, load_checkpoint
from torch.utils.data import Dataset

import mmsolo  # noqa: F401  (installs the safe loader)
from mmsolo.utils.checkpoint import UnsafeCheckpointError


class ToyModel(BaseModel):
    """A linear regressor with the interface the Runner expects."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, labels=None, mode='tensor'):
        out = self.linear(inputs)
        if mode == 'loss':
            return dict(loss=((out - labels)**2).mean())
        return out


class ToyDataset(Dataset):
    """Eight fixed samples."""
    METAINFO = dict()

    def __init__(self) -> None:
        gen = torch.Generator().manual_seed(0)
        self.inputs = torch.randn(8, 2, generator=gen)
        self.labels = self.inputs.sum(1, keepdim=True)

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitem__(self, idx: int) -> dict:
        return dict(inputs=self.inputs[idx], labels=self.labels[idx])


class Payload:
    """Pickles as a call to ``os.system(cmd)``."""

    def __init__(self, cmd: str) -> None:
        self.cmd = cmd

    def __reduce__(self):
        return os.system, (self.cmd, )


class GetattrPayload:
    """Pickles as ``getattr(obj, name)``, like nested functions do."""

    def __init__(self, obj, name: str) -> None:
        self.obj, self.name = obj, name

    def __reduce__(self):
        return getattr, (self.obj, self.name)


_runner_count = 0


def make_runner(work_dir: str, max_epochs: int = 1, **kwargs) -> Runner:
    """A small epoch-based Runner on the toy model and data."""
    global _runner_count
    _runner_count += 1
    return Runner(
        model=ToyModel(),
        work_dir=work_dir,
        experiment_name=f'test_checkpoint_{os.getpid()}_{_runner_count}',
        train_dataloader=dict(
            dataset=ToyDataset(),
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
            batch_size=2,
            num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
        param_scheduler=dict(type='MultiStepLR', milestones=[1]),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=1),
            logger=dict(type='LoggerHook', interval=1)),
        default_scope='mmengine',
        **kwargs)


def pickle_globals(path: str) -> set:
    """``module name`` of every GLOBAL in a torch zip checkpoint.

    Reads the pickle opcodes without executing anything.
    """
    with zipfile.ZipFile(path) as zf:
        name = next(n for n in zf.namelist() if n.endswith('data.pkl'))
        data = zf.read(name)
    out = io.StringIO()
    pickletools.dis(data, out)
    found = set()
    for line in out.getvalue().splitlines():
        if 'GLOBAL' in line:
            found.add(line.split('GLOBAL', 1)[1].strip().strip("'"))
    return found


@pytest.fixture(scope='module')
def real_ckpt(tmp_path_factory) -> str:
    """A checkpoint saved by a Runner after one epoch of training."""
    work_dir = str(tmp_path_factory.mktemp('ckpt_work_dir'))
    make_runner(work_dir).train()
    path = osp.join(work_dir, 'epoch_1.pth')
    assert osp.isfile(path)
    return path


@pytest.fixture
def evil_ckpt(tmp_path):
    """A checkpoint whose meta would run ``touch <marker>`` when loaded."""
    marker = tmp_path / 'pwned'
    path = str(tmp_path / 'evil.pth')
    torch.save(
        dict(
            meta=dict(epoch=1, iter=4, hook=Payload(f'touch {marker}')),
            state_dict=ToyModel().state_dict()), path)
    return path, marker


def test_real_checkpoint_holds_non_tensor_types(real_ckpt):
    names = pickle_globals(real_ckpt)
    assert 'mmengine.logging.history_buffer HistoryBuffer' in names
    assert any(n.startswith('numpy') for n in names), names


def test_plain_weights_only_load_fails_without_allow_list(real_ckpt):
    """Without mmsolo's allow-list, torch>=2.6 refuses the checkpoint."""
    saved = torch.serialization.get_safe_globals()
    torch.serialization.clear_safe_globals()
    try:
        with pytest.raises(pickle.UnpicklingError):
            torch.load(real_ckpt, map_location='cpu', weights_only=True)
    finally:
        torch.serialization.add_safe_globals(saved)


def test_checkpoint_loader_loads_real_checkpoint(real_ckpt):
    ckpt = CheckpointLoader.load_checkpoint(real_ckpt, map_location='cpu')
    assert ckpt['meta']['epoch'] == 1
    assert ckpt['optimizer']['state'], 'SGD momentum buffers expected'
    buffers = ckpt['message_hub']['log_scalars']
    assert buffers and all(
        isinstance(b, HistoryBuffer) for b in buffers.values())
    loss = buffers['train/loss']
    assert isinstance(loss.data[0], np.ndarray)
    assert np.isfinite(loss.mean())  # the statistics methods work
    scheduler = ckpt['param_schedulers'][0]
    assert scheduler['base_values'] == [0.01]
    assert scheduler['milestones'] == {1: 1}  # a collections.Counter


def test_load_checkpoint_into_model(real_ckpt):
    model = ToyModel()
    nn.init.zeros_(model.linear.weight)
    load_checkpoint(model, real_ckpt, map_location='cpu', strict=True)
    raw = CheckpointLoader.load_checkpoint(real_ckpt)['state_dict']
    torch.testing.assert_close(model.linear.weight, raw['linear.weight'])
    assert model.linear.weight.abs().sum() > 0


def test_runner_load_from_and_resume(real_ckpt, tmp_path):
    # load_from: weights only
    runner = make_runner(str(tmp_path / 'load'), load_from=real_ckpt)
    runner.load_or_resume()
    raw = CheckpointLoader.load_checkpoint(real_ckpt)
    torch.testing.assert_close(runner.model.linear.weight,
                               raw['state_dict']['linear.weight'])
    assert runner.epoch == 0

    # resume: continues with the saved optimizer state for a second epoch
    runner = make_runner(
        str(tmp_path / 'resume'),
        max_epochs=2,
        load_from=real_ckpt,
        resume=True)
    runner.train()
    assert runner.epoch == 2
    assert runner.iter == 2 * raw['meta']['iter']
    assert osp.isfile(str(tmp_path / 'resume' / 'epoch_2.pth'))


def test_payload_runs_when_loaded_unsafely(evil_ckpt):
    """The payload is real: ``weights_only=False`` executes it."""
    path, marker = evil_ckpt
    torch.load(path, weights_only=False)
    assert marker.exists()


def test_checkpoint_loader_refuses_code(evil_ckpt):
    path, marker = evil_ckpt
    with pytest.raises(UnsafeCheckpointError) as info:
        CheckpointLoader.load_checkpoint(path, map_location='cpu')
    msg = str(info.value)
    assert 'Refused to load checkpoint' in msg and path in msg
    assert 'system' in msg  # names the offending global
    assert not marker.exists()


def test_load_checkpoint_refuses_code(evil_ckpt):
    path, marker = evil_ckpt
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint(ToyModel(), path, map_location='cpu')
    assert not marker.exists()


@pytest.mark.parametrize('obj,name', [(HistoryBuffer, '__init__'),
                                      (HistoryBuffer, 'register_statistics'),
                                      (np.ndarray, 'tofile')])
def test_getattr_is_not_allowed_in_general(tmp_path, obj, name):
    """Checkpoints pickle ``HistoryBuffer.min`` etc. through ``getattr``;
    anything else reached through ``getattr`` must still be refused."""
    path = str(tmp_path / 'getattr.pth')
    torch.save(dict(meta=dict(fn=GetattrPayload(obj, name))), path)
    assert any('getattr' in n for n in pickle_globals(path))
    with pytest.raises(UnsafeCheckpointError):
        CheckpointLoader.load_checkpoint(path, map_location='cpu')


@pytest.mark.parametrize('resume', [False, True])
def test_runner_refuses_code(evil_ckpt, tmp_path, resume):
    path, marker = evil_ckpt
    runner = make_runner(
        str(tmp_path / 'work_dir'), load_from=path, resume=resume)
    with pytest.raises(UnsafeCheckpointError):
        if resume:
            runner.train()
        else:
            runner.load_or_resume()
    assert not marker.exists()


@pytest.mark.parametrize('shape', [(0, ), (0, 3), (2, 0)])
def test_zero_size_arrays_load(tmp_path, shape):
    """Pickle stores a zero-size array's data as ``bytes()``."""
    empty = HistoryBuffer()  # its history is a zero-size float array
    path = str(tmp_path / 'empty.pth')
    torch.save(
        dict(
            meta=dict(arr=np.zeros(shape, np.float32)),
            message_hub=dict(log_scalars={'train/loss': empty})), path)
    assert any('bytes' in n for n in pickle_globals(path))
    ckpt = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    assert ckpt['meta']['arr'].shape == shape
    assert ckpt['meta']['arr'].dtype == np.float32
    assert len(ckpt['message_hub']['log_scalars']['train/loss'].data[0]) == 0


def test_runner_checkpoint_with_empty_history_buffer(real_ckpt, tmp_path):
    """A Runner checkpoint whose message hub holds an empty buffer."""
    ckpt = torch.load(real_ckpt, weights_only=False)
    ckpt['message_hub']['log_scalars']['train/never_logged'] = HistoryBuffer()
    path = str(tmp_path / 'with_empty.pth')
    torch.save(ckpt, path)
    loaded = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    buffers = loaded['message_hub']['log_scalars']
    assert len(buffers['train/never_logged'].data[0]) == 0
    assert np.isfinite(buffers['train/loss'].mean())


class BytesPayload:
    """Pickles as ``bytes(n)``: an allocation of ``n`` bytes."""

    def __reduce__(self):
        return bytes, (1 << 20, )


def test_bytes_with_arguments_refused(tmp_path):
    path = str(tmp_path / 'bytes.pth')
    torch.save(dict(meta=dict(blob=BytesPayload())), path)
    with pytest.raises(UnsafeCheckpointError):
        CheckpointLoader.load_checkpoint(path, map_location='cpu')

# Copyright (c) mmsolo contributors. All rights reserved.
"""NonFiniteCheckHook: a NaN loss or gradient stops training before the
update, with the iteration and the culprit named, and no checkpoint of the
bad state; the last good checkpoint stays intact."""
import os
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.runner import CheckpointLoader, Runner
from torch.utils.data import Dataset

import mmsolo  # noqa: F401
from mmsolo.engine.hooks import NonFiniteCheckHook, NonFiniteTrainingError

BASE_RUNTIME = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs',
    '_base_', 'default_runtime.py')


class NaNGrad(torch.autograd.Function):
    """Identity forward, NaN gradient backward."""

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        return torch.full_like(grad, float('nan'))


class ToyModel(BaseModel):
    """Linear regression; the sample flagged ``poison`` breaks it.

    ``poison == 1`` gives a NaN target (NaN ``loss_reg``), ``poison == 2`` a
    NaN gradient of ``linear.weight`` with a finite loss.
    """

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, labels=None, poison=None, mode='tensor'):
        out = self.linear(inputs)
        if mode != 'loss':
            return out
        if bool((poison == 2).any()):
            out = NaNGrad.apply(out)
        return dict(
            loss_reg=((out - labels)**2).mean(),
            loss_aux=out.abs().mean() * 0.)


class ToyDataset(Dataset):
    """Eight samples; the one at ``bad_index`` carries ``poison``."""
    METAINFO = dict()

    def __init__(self, bad_index: int = -1, poison: int = 1) -> None:
        gen = torch.Generator().manual_seed(0)
        self.inputs = torch.randn(8, 2, generator=gen)
        self.labels = self.inputs.sum(1, keepdim=True)
        self.poison = torch.zeros(8, dtype=torch.long)
        if bad_index >= 0:
            self.poison[bad_index] = poison
            if poison == 1:
                self.labels[bad_index] = float('nan')

    def __len__(self) -> int:
        return 8

    def __getitem__(self, idx: int) -> dict:
        return dict(
            inputs=self.inputs[idx],
            labels=self.labels[idx],
            poison=self.poison[idx])


def make_runner(work_dir, dataset, custom_hooks, by_epoch=False) -> Runner:
    """Batch 1, no shuffling: sample i is iteration i + 1."""
    if by_epoch:
        train_cfg = dict(by_epoch=True, max_epochs=2)
    else:
        train_cfg = dict(by_epoch=False, max_iters=8)
    return Runner(
        model=ToyModel(),
        work_dir=str(work_dir),
        experiment_name=f'nonfinite_{os.getpid()}_{id(dataset)}',
        train_dataloader=dict(
            dataset=dataset,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
            batch_size=1,
            num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=train_cfg,
        default_hooks=dict(
            checkpoint=dict(
                type='CheckpointHook', interval=2, by_epoch=by_epoch),
            logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=custom_hooks,
        default_scope='mmsolo')


def test_base_runtime_has_the_hook():
    hooks = Config.fromfile(BASE_RUNTIME).custom_hooks
    assert dict(type='NonFiniteCheckHook') in hooks


def test_nan_loss_stops_before_update_and_saving(tmp_path):
    # iteration 5 (sample 4) has a NaN target
    runner = make_runner(tmp_path, ToyDataset(bad_index=4),
                         [dict(type='NonFiniteCheckHook')])
    with pytest.raises(NonFiniteTrainingError) as info:
        runner.train()
    msg = str(info.value)
    assert 'iteration 5' in msg and 'loss_reg' in msg
    assert 'loss_aux' not in msg.split('(')[0]  # only the culprit is named
    assert 'iter_4.pth' in msg  # the last good checkpoint
    assert sorted(f for f in os.listdir(tmp_path)
                  if f.endswith('.pth')) == ['iter_2.pth', 'iter_4.pth']
    with open(tmp_path / 'last_checkpoint') as f:
        assert f.read().strip().endswith('iter_4.pth')
    # the weights in memory are those of the last good step
    good = CheckpointLoader.load_checkpoint(str(tmp_path / 'iter_4.pth'))
    for name, value in runner.model.state_dict().items():
        assert torch.isfinite(value).all()
        torch.testing.assert_close(value, good['state_dict'][name])


def test_nan_gradient_names_parameter(tmp_path):
    runner = make_runner(tmp_path, ToyDataset(bad_index=2, poison=2),
                         [dict(type='NonFiniteCheckHook')])
    with pytest.raises(NonFiniteTrainingError) as info:
        runner.train()
    msg = str(info.value)
    assert 'iteration 3' in msg and 'gradient' in msg
    assert 'linear.weight' in msg and 'linear.bias' in msg
    assert 'iter_2.pth' in msg
    assert all(torch.isfinite(p).all() for p in runner.model.parameters())


def test_epoch_based_stops_before_epoch_checkpoint(tmp_path):
    # the last sample: the epoch checkpoint would be written right after
    runner = make_runner(
        tmp_path,
        ToyDataset(bad_index=7), [dict(type='NonFiniteCheckHook')],
        by_epoch=True)
    with pytest.raises(NonFiniteTrainingError, match=r'iteration 8 \(epoch 1'):
        runner.train()
    assert not [f for f in os.listdir(tmp_path) if f.endswith('.pth')]


def test_switched_off_trains_on_with_nan(tmp_path):
    """Without the hook the run goes on and saves NaN weights."""
    runner = make_runner(tmp_path, ToyDataset(bad_index=4), [])
    runner.train()
    ckpt = CheckpointLoader.load_checkpoint(str(tmp_path / 'iter_8.pth'))
    assert not torch.isfinite(ckpt['state_dict']['linear.weight']).all()


def test_finite_run_is_untouched(tmp_path):
    runner = make_runner(tmp_path, ToyDataset(),
                         [dict(type='NonFiniteCheckHook')])
    runner.train()
    assert runner.iter == 8
    hook = next(h for h in runner.hooks if isinstance(h, NonFiniteCheckHook))
    assert hook._handles == []  # removed after training

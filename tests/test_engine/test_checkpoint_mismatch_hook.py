# Copyright (c) mmsolo contributors. All rights reserved.
"""CheckpointMismatchHook: a checkpoint with other classes or grids is
explained (fine-tuning) or refused (resume, test) with the shapes named."""
import os
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from torch.utils.data import Dataset

import mmsolo  # noqa: F401
from mmsolo.engine.hooks import CheckpointMismatchError
from mmsolo.engine.hooks.checkpoint_mismatch_hook import (describe_mismatches,
                                                          shape_mismatches)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_CFG = osp.join(ROOT, 'tests', 'data', 'configs', 'tiny_solo_shapes.py')


class ToyModel(BaseModel):
    """A backbone layer and a ``mask_head.conv_cls`` of ``num_classes``."""

    def __init__(self, num_classes: int = 4) -> None:
        super().__init__()
        self.backbone = nn.Linear(2, 3)
        self.mask_head = nn.Module()
        self.mask_head.conv_cls = nn.Linear(3, num_classes)

    def forward(self, inputs, labels=None, mode='tensor'):
        out = self.mask_head.conv_cls(self.backbone(inputs))
        if mode == 'loss':
            return dict(loss=out.pow(2).mean())
        return out


class ToyDataset(Dataset):
    METAINFO = dict()

    def __len__(self) -> int:
        return 4

    def __getitem__(self, idx: int) -> dict:
        return dict(inputs=torch.ones(2) * idx, labels=torch.zeros(1))


def make_runner(work_dir, num_classes, **kwargs) -> Runner:
    return Runner(
        model=ToyModel(num_classes),
        work_dir=str(work_dir),
        experiment_name=f'mismatch_{os.getpid()}_{id(kwargs)}',
        train_dataloader=dict(
            dataset=ToyDataset(),
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
            batch_size=2,
            num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
        train_cfg=dict(by_epoch=False, max_iters=2),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=2,
                            by_epoch=False)),
        custom_hooks=[dict(type='CheckpointMismatchHook')],
        default_scope='mmsolo',
        **kwargs)


@pytest.fixture(scope='module')
def four_class_ckpt(tmp_path_factory) -> str:
    work_dir = tmp_path_factory.mktemp('four_classes')
    make_runner(work_dir, 4).train()
    return str(work_dir / 'iter_2.pth')


def test_finetune_warns_and_loads_the_rest(four_class_ckpt, tmp_path):
    runner = make_runner(tmp_path, 3, load_from=four_class_ckpt)
    runner.train()  # fine-tuning goes on
    with open(osp.join(runner.log_dir, f'{runner.timestamp}.log')) as f:
        log = f.read()
    assert 'mask_head.conv_cls.weight: checkpoint [4, 3], model [3, 3]' \
        in log
    assert 'trained for 4 classes' in log and 'num_classes=3' in log
    assert 'load_from' in log and 'docs/faq.md' in log
    assert runner.model.mask_head.conv_cls.weight.shape == (3, 3)


def test_resume_with_other_classes_refused(four_class_ckpt, tmp_path):
    runner = make_runner(tmp_path, 3, load_from=four_class_ckpt, resume=True)
    with pytest.raises(CheckpointMismatchError) as info:
        runner.train()
    msg = str(info.value)
    assert 'Cannot resume' in msg and 'checkpoint [4, 3], model [3, 3]' in msg
    assert 'mask_head.conv_cls.bias: checkpoint [4], model [3]' in msg
    assert 'backbone' not in msg  # only the mismatched ones are listed


class CountMetric(BaseMetric):

    def process(self, data_batch, data_samples) -> None:
        self.results.append(len(data_samples))

    def compute_metrics(self, results) -> dict:
        return dict(count=sum(results))


def test_evaluating_with_other_classes_refused(four_class_ckpt, tmp_path):
    runner = Runner(
        model=ToyModel(3),
        work_dir=str(tmp_path),
        test_dataloader=dict(
            dataset=ToyDataset(),
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
            batch_size=2,
            num_workers=0),
        test_evaluator=CountMetric(),
        test_cfg=dict(),
        load_from=four_class_ckpt,
        custom_hooks=[dict(type='CheckpointMismatchHook')],
        default_scope='mmsolo')
    with pytest.raises(CheckpointMismatchError, match='Cannot evaluate'):
        runner.test()


def test_same_shapes_pass_silently(four_class_ckpt, tmp_path):
    runner = make_runner(tmp_path, 4, load_from=four_class_ckpt, resume=True)
    runner.train()
    assert runner.iter == 2


def test_solo_heads_with_other_classes_and_grids():
    """On the real SOLO heads: class count and grids are recognised."""
    from mmsolo.registry import MODELS
    init_default_scope('mmsolo')
    head_cfg = Config.fromfile(TINY_CFG).model.mask_head
    base = MODELS.build(head_cfg).state_dict()
    other = MODELS.build(
        dict(head_cfg, num_classes=3, num_grids=[12, 10, 8, 6, 5]))
    found = shape_mismatches(other.state_dict(), base)
    names = [name for name, _, _ in found]
    assert names == [
        'conv_cls.bias', 'conv_cls.weight', 'conv_mask_list.4.bias',
        'conv_mask_list.4.weight'
    ]
    text = describe_mismatches(found)
    assert 'conv_mask_list.4.weight: checkpoint [16, 32, 1, 1], model ' \
           '[25, 32, 1, 1]' in text
    assert 'trained for 4 classes' in text and 'num_grids' in text
    # the module. prefix of a DDP checkpoint is ignored
    prefixed = {f'module.{k}': v for k, v in base.items()}
    assert shape_mismatches(other.state_dict(), prefixed) == found

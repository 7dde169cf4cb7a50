# Copyright (c) mmsolo contributors. All rights reserved.
"""TimeBudgetHook: training shortened to a deadline, schedule with it."""
import pytest
from mmengine.hooks import Hook
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from mmsolo.engine.hooks import time_budget_hook
from tests.test_quickstart.test_quickstart import _cfg


class FakeClock:
    """``time.time`` for the hook: each epoch takes 10 s."""

    def __init__(self):
        self.now = 0.

    def time(self):
        return self.now


class TickHook(Hook):
    """Advances the fake clock by an epoch's 10 s, before the budget hook."""
    priority = 'HIGHEST'

    def __init__(self, clock):
        self.clock = clock

    def after_train_epoch(self, runner):
        self.clock.now += 10.


@pytest.mark.parametrize('deadline,expected', [(28., 2), (1000., 4), (5., 1)])
def test_shortens_training_and_its_cosine(deadline, expected, monkeypatch,
                                          shapes_data_root, tmp_path):
    import mmsolo  # noqa: F401
    clock = FakeClock()
    monkeypatch.setattr(time_budget_hook, 'time', clock)
    init_default_scope('mmsolo')
    cfg = _cfg('decoupled-solo-light_r18_fpn_shapes.py', shapes_data_root,
               tmp_path)
    cfg.train_dataloader.batch_size = 4  # 8 images: 2 iterations an epoch
    cfg.train_cfg.max_epochs = 4
    cfg.train_cfg.val_interval = 100  # only the last epoch's validation
    cfg.param_scheduler[0].end = 1  # warm-up: one iteration
    cfg.default_hooks.checkpoint.interval = 4
    cfg.custom_hooks = [
        dict(type='TimeBudgetHook', deadline=deadline, reserve_s=2.)
    ]
    runner = Runner.from_cfg(cfg)
    runner.register_hook(TickHook(clock))
    runner.train()
    # after epoch 1 (10 s): floor((deadline - 2 - 10) / 10) more epochs
    assert runner.train_loop.max_epochs == expected
    assert runner.epoch == expected
    cosine = runner.param_schedulers[1]
    assert cosine.end == cosine.T_max == expected * 2
    # the learning rate decayed to the cosine's minimum at the new end
    lr = runner.optim_wrapper.get_lr()['lr'][0]
    base_lr = cfg.optim_wrapper.optimizer.lr
    assert lr < cosine.eta_min + 0.3 * (base_lr - cosine.eta_min)
    # the checkpoint of the last epoch trained was written
    assert (tmp_path / f'epoch_{expected}.pth').is_file()

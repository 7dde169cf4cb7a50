# Copyright (c) mmsolo contributors. All rights reserved.
"""TimeBudgetHook: training shortened to a deadline, schedule with it."""
import pytest
from mmengine.hooks import Hook
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from mmsolo.engine.hooks import time_budget_hook
from mmsolo.engine.hooks.time_budget_hook import epochs_to_train
from tests.test_quickstart.test_quickstart import _cfg


class FakeClock:
    """``time.time`` for the hook: each epoch takes 10 s."""

    def __init__(self):
        self.now = 0.

    def time(self):
        return self.now


class TickHook(Hook):
    """Advances the fake clock by an epoch's duration (10 s unless
    ``durations`` says otherwise), before the budget hook."""
    priority = 'HIGHEST'

    def __init__(self, clock, durations=()):
        self.clock = clock
        self.durations = list(durations)

    def after_train_epoch(self, runner):
        epoch = runner.epoch
        self.clock.now += (
            self.durations[epoch] if epoch < len(self.durations) else 10.)


def _train(monkeypatch,
           data_root,
           work_dir,
           max_epochs,
           deadline,
           reserve_s,
           durations=(),
           limit=None,
           estimate_from=0):
    import mmsolo  # noqa: F401
    clock = FakeClock()
    monkeypatch.setattr(time_budget_hook, 'time', clock)
    init_default_scope('mmsolo')
    cfg = _cfg('decoupled-solo-light_r18_fpn_shapes.py', data_root, work_dir)
    cfg.train_dataloader.batch_size = 4  # 8 images: 2 iterations an epoch
    cfg.train_cfg.max_epochs = max_epochs
    cfg.train_cfg.val_interval = 100  # only the last epoch's validation
    cfg.param_scheduler[0].end = 1  # warm-up: one iteration
    cfg.default_hooks.checkpoint.interval = max_epochs
    cfg.custom_hooks = [
        dict(
            type='TimeBudgetHook',
            deadline=deadline,
            reserve_s=reserve_s,
            max_epochs=limit,
            estimate_from=estimate_from)
    ]
    runner = Runner.from_cfg(cfg)
    runner.register_hook(TickHook(clock, durations))
    runner.train()
    return runner, cfg


@pytest.mark.parametrize('deadline,expected', [(28., 2), (1000., 4), (5., 1)])
def test_shortens_training_and_its_cosine(deadline, expected, monkeypatch,
                                          shapes_data_root, tmp_path):
    runner, cfg = _train(monkeypatch, shapes_data_root, tmp_path, 4, deadline,
                         2.)
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


def test_lengthens_again_after_a_slow_stretch(monkeypatch, shapes_data_root,
                                              tmp_path, caplog):
    """Epoch 2 takes 20 s instead of 10: 4 of the 6 planned epochs fit after
    it; after epoch 3 the mean of epochs 2-3 (15 s) lets 5 fit, after epoch
    5 (12.5 s) all 6."""
    runner, _ = _train(monkeypatch, shapes_data_root, tmp_path, 6, 75., 0.,
                       [10., 20.])
    assert runner.train_loop.max_epochs == runner.epoch == 6
    cosine = runner.param_schedulers[1]
    assert cosine.end == cosine.T_max == 12
    assert (tmp_path / 'epoch_6.pth').is_file()
    log = (tmp_path / runner.timestamp / f'{runner.timestamp}.log').read_text()
    assert 'ends after epoch 4 instead of 6 to finish within' in log
    assert 'ends after epoch 5 instead of 4 (faster epochs' in log
    assert 'ends after epoch 6 instead of 5 (faster epochs' in log
    # each message names the epoch it was made after
    assert 'TimeBudgetHook (epoch 2): epochs take 20.0 s here' in log


def test_a_slow_first_epoch_counts_only_until_the_second(
        monkeypatch, shapes_data_root, tmp_path):
    """The first epoch takes 20 s (caches filling), the rest 10 s: from
    epoch 2 on the budget of 72 s is seen to hold 6 epochs and a fifth (the
    mean of all epochs would end training after 5)."""
    runner, _ = _train(
        monkeypatch, shapes_data_root, tmp_path, 4, 72., 0., [20.], limit=8)
    assert runner.train_loop.max_epochs == runner.epoch == 6
    cosine = runner.param_schedulers[1]
    assert cosine.end == cosine.T_max == 12


def test_lengthens_beyond_the_plan_up_to_max_epochs(monkeypatch,
                                                    shapes_data_root,
                                                    tmp_path):
    """3 epochs planned, but the budget holds 5 of 10 s: training goes on
    to max_epochs=4, the cosine with it."""
    runner, _ = _train(
        monkeypatch, shapes_data_root, tmp_path, 3, 55., 0., limit=4)
    assert runner.train_loop.max_epochs == runner.epoch == 4
    cosine = runner.param_schedulers[1]
    assert cosine.end == cosine.T_max == 8
    assert (tmp_path / 'epoch_4.pth').is_file()


def test_cheaper_first_epochs_do_not_lengthen_training(monkeypatch,
                                                       shapes_data_root,
                                                       tmp_path):
    """Epochs 0-1 take 6 s (a lower resolution), the rest 10 s; 4 planned,
    60 s. Epochs 0-1 alone would make room for 8 (they are only a lower
    bound: no change); from epoch 2's 10 s on, 6 fit, and end in time."""
    runner, _ = _train(
        monkeypatch,
        shapes_data_root,
        tmp_path,
        4,
        60.,
        0., [6., 6.],
        limit=8,
        estimate_from=2)
    assert runner.train_loop.max_epochs == runner.epoch == 6
    assert time_budget_hook.time.time() == 52.  # the fake clock: in time
    log = (tmp_path / runner.timestamp / f'{runner.timestamp}.log').read_text()
    assert 'ends after epoch 6 instead of 4' in log
    assert 'instead of 8' not in log and 'ends after epoch 8' not in log


def test_lengthens_only_with_a_tenth_of_an_epoch_to_spare():
    """An estimate that wobbles around a whole number of epochs (here 4 more
    after epoch 4, then a little under, then a little over) shortens
    training once and does not lengthen it again by a hair."""
    assert epochs_to_train(4, 8, 4.02, limit=10) == 8  # the plan fits
    assert epochs_to_train(4, 8, 3.97, limit=10) == 7  # it does not
    assert epochs_to_train(5, 7, 3.04, limit=10) == 7  # 8 would, by a hair
    assert epochs_to_train(5, 7, 3.12, limit=10) == 8  # with room to spare
    assert epochs_to_train(5, 7, 9.5, limit=10) == 10  # never beyond limit
    assert epochs_to_train(5, 7, -0.5, limit=10) == 5  # out of time: stop

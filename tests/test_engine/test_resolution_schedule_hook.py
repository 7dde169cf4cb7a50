# Copyright (c) mmsolo contributors. All rights reserved.
"""ResolutionScheduleHook: the first epochs at a lower resolution."""
import pytest
from mmengine.hooks import Hook
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from mmsolo.engine.hooks import ResolutionScheduleHook, TimeBudgetHook
from tests.test_quickstart.test_quickstart import _cfg


class InputSizeHook(Hook):
    """Records (epoch, input height) of every training iteration."""

    def __init__(self):
        self.seen = []

    def before_train(self, runner):

        def record(module, args):
            if module.training:  # not the validation
                self.seen.append((runner.epoch, args[0].shape[-1]))

        runner.model.backbone.register_forward_pre_hook(record)


def _runner(data_root, work_dir, max_epochs, hooks, augments=True):
    import mmsolo  # noqa: F401
    init_default_scope('mmsolo')
    cfg = _cfg('decoupled-solo-light_r18_fpn_shapes.py', data_root, work_dir)
    cfg.train_dataloader.batch_size = 4  # 8 images: 2 iterations an epoch
    cfg.train_cfg.max_epochs = max_epochs
    cfg.train_cfg.val_interval = 100  # only the last epoch's validation
    cfg.default_hooks.checkpoint.interval = max_epochs
    cfg.model.data_preprocessor.batch_augments = [
        dict(type='BatchDownscale', ratio=0.6)
    ] if augments else None
    cfg.custom_hooks = hooks
    return Runner.from_cfg(cfg)


def test_first_half_of_the_epochs_at_the_lower_resolution(
        shapes_data_root, tmp_path):
    runner = _runner(shapes_data_root, tmp_path, 4, [
        dict(type='ResolutionScheduleHook', low_fraction=0.5),
        dict(type='TimeBudgetHook', deadline=1e12)
    ])
    sizes = InputSizeHook()
    runner.register_hook(sizes)
    runner.train()
    # the pipeline's 160 pixels down-scaled by 0.6 for epochs 0-1
    assert sizes.seen == [(0, 96)] * 2 + [(1, 96)] * 2 + [(2, 160)] * 2 + [
        (3, 160)
    ] * 2
    # the time budget estimates from the full-resolution epochs only
    budget = [h for h in runner.hooks if isinstance(h, TimeBudgetHook)]
    assert budget[0].estimate_from == 2
    log = (tmp_path / runner.timestamp / f'{runner.timestamp}.log').read_text()
    assert 'ResolutionScheduleHook (epoch 1): training at 0.6 of the input ' \
        'size until epoch 2' in log
    assert 'ResolutionScheduleHook (epoch 3): training at the full input ' \
        'size from now on' in log


def test_one_planned_epoch_is_at_full_resolution(shapes_data_root, tmp_path):
    """int(0.5 * 1) = 0 low-resolution epochs: the quick start's one-epoch
    calibration measures the full-resolution speed."""
    runner = _runner(shapes_data_root, tmp_path, 1,
                     [dict(type='ResolutionScheduleHook')])
    sizes = InputSizeHook()
    runner.register_hook(sizes)
    runner.train()
    assert sizes.seen == [(0, 160)] * 2


def test_needs_a_batch_downscale(shapes_data_root, tmp_path):
    runner = _runner(
        shapes_data_root,
        tmp_path,
        2, [dict(type='ResolutionScheduleHook')],
        augments=False)
    with pytest.raises(ValueError, match='no BatchDownscale'):
        runner.train()


@pytest.mark.parametrize('fraction', [-0.1, 1.5])
def test_bad_fraction(fraction):
    with pytest.raises(ValueError, match='low_fraction'):
        ResolutionScheduleHook(low_fraction=fraction)

# Copyright (c) mmsolo contributors. All rights reserved.
"""A lower input resolution for the first epochs of training."""
from typing import List

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from mmsolo.models.data_preprocessors import BatchDownscale
from mmsolo.registry import HOOKS
from mmsolo.utils.time_budget import low_resolution_epochs
from .time_budget_hook import TimeBudgetHook


@HOOKS.register_module()
class ResolutionScheduleHook(Hook):
    """Train the first epochs at a lower resolution, the rest at the
    pipeline's.

    Switches the data preprocessor's :class:`BatchDownscale` batch augments
    on for the first ``int(low_fraction * max_epochs)`` epochs (of the epochs
    planned when training starts) and off for the rest, for good: the last
    epochs and the batch-norm statistics are at the resolution the model is
    tested at. A :class:`TimeBudgetHook` is told that the first epochs are
    cheaper than the rest, so it does not lengthen training on their speed.

    Args:
        low_fraction (float): Share of the planned epochs trained at the
            lower resolution, in [0, 1]. Defaults to 0.5.
    """
    priority = 'NORMAL'

    def __init__(self, low_fraction: float = 0.5) -> None:
        if not 0 <= low_fraction <= 1:
            raise ValueError(
                f'low_fraction must be in [0, 1], got {low_fraction}')
        self.low_fraction = low_fraction
        self.low_epochs = 0

    @staticmethod
    def downscales(runner) -> List[BatchDownscale]:
        """The model's :class:`BatchDownscale` batch augments."""
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        augments = getattr(model.data_preprocessor, 'batch_augments',
                           None) or []
        return [a for a in augments if isinstance(a, BatchDownscale)]

    def before_train(self, runner) -> None:
        if not self.downscales(runner):
            raise ValueError(
                'ResolutionScheduleHook: the data preprocessor has no '
                'BatchDownscale batch augment to switch; add '
                "batch_augments=[dict(type='BatchDownscale', ratio=...)] "
                'to model.data_preprocessor')
        self.low_epochs = low_resolution_epochs(self.low_fraction,
                                                runner.max_epochs)
        for hook in runner.hooks:
            if isinstance(hook, TimeBudgetHook):
                hook.estimate_from = self.low_epochs

    def before_train_epoch(self, runner) -> None:
        low = runner.epoch < self.low_epochs
        for augment in self.downscales(runner):
            if augment.enabled != low:
                what = (f'at {augment.ratio:g} of the input size until epoch '
                        f'{self.low_epochs}'
                        if low else 'at the full input size from now on')
                print_log(
                    f'ResolutionScheduleHook (epoch {runner.epoch + 1}): '
                    f'training {what}',
                    logger='current')
            augment.enabled = low

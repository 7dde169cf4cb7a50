# Copyright (c) mmsolo contributors. All rights reserved.
"""Ending training before a deadline, with a schedule that ends with it."""
import logging
import math
import time
from typing import List, Optional, Tuple

from mmengine.hooks import Hook
from mmengine.logging import print_log

from mmsolo.registry import HOOKS


def epochs_to_train(finished: int,
                    current: int,
                    room: float,
                    limit: int,
                    spare: float = 0.1) -> int:
    """How many epochs to train, given how many more fit.

    Fewer than ``current`` when the planned ones do not fit; more only when
    they fit with ``spare`` of an epoch left over, so that an estimate that
    wobbles around a whole number of epochs does not lengthen and shorten
    training by turns (the cosine re-targeted each time).

    Args:
        finished (int): Epochs trained.
        current (int): Epochs planned now.
        room (float): Epochs that fit in the time left (estimated).
        limit (int): Never more than this.
        spare (float): Fraction of an epoch that must be left over to
            lengthen training. Defaults to 0.1.

    Returns:
        int: The epochs to train (at least ``finished``).
    """
    if finished + room < current:
        return finished + max(0, math.floor(room))
    return max(current, min(limit, finished + math.floor(room - spare)))


@HOOKS.register_module()
class TimeBudgetHook(Hook):
    """Shorten an epoch-based training run so that it ends by a deadline.

    After every epoch it extrapolates the mean duration of the epochs after the
    first (validation included; the first epoch fills caches, such as
    ``CachedCompose``'s, and is slower, so it only counts until a second one
    has ended): when the remaining epochs would end after ``deadline -
    reserve_s``, ``max_epochs`` is lowered to the epochs that fit, and the
    parameter schedulers that run to the end of training (the cosine decay of
    the quick-start configs) are re-targeted to the new end, so that the
    learning rate still decays to its minimum. When the machine is fast again
    after a slow stretch, or faster than planned from the start, and more
    epochs fit with a tenth of an epoch to spare, training is lengthened in
    the same way, up to ``max_epochs`` (:func:`epochs_to_train`).
    The quick start (``tools/quickstart.sh --budget-min``) plans the epochs
    from a short calibration run and adds this hook for when the machine turns
    out slower or faster than calibrated (other work on it, thermal limits, a
    calibration that met a slow moment).

    Epochs before ``estimate_from`` are taken to be cheaper than the rest (a
    :class:`ResolutionScheduleHook` sets it to its first epoch at full
    resolution, 0-based): once an epoch after them has ended, only the
    epochs from ``estimate_from`` on count; until then the estimate is a
    lower bound on what the rest will take, which may shorten training but
    not lengthen it.

    Args:
        deadline (float): Unix time by which training must have ended.
        reserve_s (float): Seconds to keep before the deadline (for the
            test and whatever follows training).
        max_epochs (int, optional): Never lengthen training beyond this
            many epochs; None: the epochs planned at the start.
        estimate_from (int): The first epoch that costs what the rest will
            (see above). Defaults to 0.
    """
    priority = 'NORMAL'  # before the checkpoint hook sees max_epochs

    def __init__(self,
                 deadline: float,
                 reserve_s: float = 0.,
                 max_epochs: Optional[int] = None,
                 estimate_from: int = 0) -> None:
        self.deadline = float(deadline)
        self.reserve_s = float(reserve_s)
        self.max_epochs = max_epochs
        self.estimate_from = estimate_from
        self._start: Optional[float] = None
        self._ends: List[float] = []
        self._start_epoch = 0
        self._limit = 0

    def before_train(self, runner) -> None:
        self._start = time.time()
        self._ends = []
        self._start_epoch = runner.epoch
        self._limit = self.max_epochs or runner.train_loop.max_epochs

    def per_epoch(self) -> Tuple[float, bool]:
        """The seconds an epoch takes, from the epochs ended so far.

        Returns:
            tuple[float, bool]: The mean duration of the epochs that count
            (from ``estimate_from`` on, and after the first once a second
            has ended), and whether it is only a lower bound (no epoch from
            ``estimate_from`` on has ended yet).
        """
        starts = [self._start] + self._ends[:-1]
        durations = [end - start for start, end in zip(starts, self._ends)]
        epochs = range(self._start_epoch, self._start_epoch + len(durations))
        first = max(self.estimate_from, self._start_epoch + 1)
        counted = [d for e, d in zip(epochs, durations) if e >= first]
        if counted:
            return sum(counted) / len(counted), False
        # only the first epoch (it fills caches), or only cheaper ones
        later = durations[1:] or durations
        return sum(later) / len(later), epochs[-1] < self.estimate_from

    def after_train_epoch(self, runner) -> None:
        loop = runner.train_loop
        finished = runner.epoch + 1  # the loop counts it after this hook
        now = time.time()
        self._ends.append(now)
        per_epoch, lower_bound = self.per_epoch()
        room = (self.deadline - self.reserve_s - now) / per_epoch
        current = loop.max_epochs
        fit = epochs_to_train(finished, current, room, self._limit)
        if fit == current or (lower_bound and fit > current):
            return
        self.set_max_epochs(runner, fit)
        why = ('to finish within' if fit < current else
               '(faster epochs than planned): it still fits')
        # the epoch in the message: mmengine's logger drops a warning that
        # repeats an earlier one word for word
        print_log(
            f'TimeBudgetHook (epoch {finished}): epochs take '
            f'{per_epoch:.1f} s here; training ends after epoch {fit} '
            f'instead of {current} {why} the time budget',
            logger='current',
            level=logging.WARNING)

    @staticmethod
    def set_max_epochs(runner, max_epochs: int) -> None:
        """Set the loop's and the schedulers' end to ``max_epochs`` (earlier
        or later than now)."""
        loop = runner.train_loop
        iters_per_epoch = len(loop.dataloader)
        old_epochs = loop.max_epochs
        loop._max_epochs = max_epochs
        loop._max_iters = max_epochs * iters_per_epoch
        schedulers = runner.param_schedulers or []
        if isinstance(schedulers, dict):
            schedulers = [s for group in schedulers.values() for s in group]
        for scheduler in schedulers:
            scale = 1 if scheduler.by_epoch else iters_per_epoch
            if scheduler.end < old_epochs * scale:
                continue  # ends before training does (a warm-up)
            scheduler.end = max_epochs * scale
            if hasattr(scheduler, 'T_max'):
                scheduler.T_max = scheduler.end - scheduler.begin

# Copyright (c) mmsolo contributors. All rights reserved.
"""Fitting a training schedule to a wall-clock budget on this machine.

The quick start (``tools/quickstart.sh --budget-min N``) times a short
calibration run of the config (a few training iterations and a validation
on a few images), then :func:`plan_epochs` picks the number of epochs whose
training, validations, test and pictures fit in what is left of the budget.
The learning-rate schedule of the quick-start configs follows
``train_cfg.max_epochs``, so the chosen length changes nothing else.
"""
import json
import math
from dataclasses import dataclass
from typing import List, Optional

from .cpu_info import onednn_isa_cap, usable_cpu_flags


@dataclass
class Calibration:
    """Seconds measured by a calibration run.

    Attributes:
        iter_s (float): One training iteration, steady state.
        val_image_s (float): Validation, per image.
        overhead_s (float): What a run of a tool costs besides its
            iterations: process start, imports, data and model set-up.
        low_iter_s (float, optional): One training iteration at the lower
            resolution of a ``ResolutionScheduleHook``, where the
            calibration ran one epoch at it.
    """
    iter_s: float
    val_image_s: float
    overhead_s: float
    low_iter_s: Optional[float] = None


def read_calibration(scalars_json: str, wall_s: float, num_iters: int,
                     val_images: int, val_batch: int) -> Calibration:
    """Timings of a calibration run from its ``vis_data/scalars.json``.

    Args:
        scalars_json (str): mmengine's scalars of the calibration run.
        wall_s (float): Wall-clock seconds of the whole run.
        num_iters (int): Training iterations it ran.
        val_images (int): Images it validated on.
        val_batch (int): Validation batch size.

    Returns:
        Calibration: The timings (``low_iter_s`` from the last window of the
        first epoch where the run trained two: the first at the lower
        resolution of a ``ResolutionScheduleHook``, the second at the
        config's; its data time replaced by the second epoch's).
    """
    with open(scalars_json) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    train = [r for r in rows if 'loss' in r and 'time' in r]
    val = [r for r in rows if 'loss' not in r and 'time' in r]
    if not train:
        raise ValueError(f'{scalars_json} has no timed training iteration')
    # the last logged window: past the first, slow iterations
    iter_s = float(train[-1]['time'])
    # every logged window's iterations, the slow first ones included: the
    # rest of the wall time is the tool's start-up
    steps = [0] + [int(r.get('step', i + 1)) for i, r in enumerate(train)]
    train_s = sum(
        float(r['time']) * (b - a) for r, a, b in zip(train, steps, steps[1:]))
    train_s += (num_iters - steps[-1]) * iter_s  # after the last window
    val_s = float(val[-1]['time']) * math.ceil(val_images / val_batch) \
        if val else 0.
    overhead = max(0., wall_s - train_s - val_s)
    first = [r for r in train if r.get('epoch', 1) == 1]
    low_iter_s = None
    if len(first) < len(train):
        # The first epoch also loads every image for the first time (the
        # quick start's CachedCompose fills its cache), the second reads
        # what was kept: a lower-resolution iteration is the first epoch's
        # compute with the second epoch's loading.
        low, full = first[-1], train[-1]
        low_iter_s = float(low['time']) - float(low.get(
            'data_time', 0.)) + float(full.get('data_time', 0.))
    return Calibration(iter_s, val_s / max(val_images, 1), overhead,
                       low_iter_s)


def low_resolution_epochs(low_fraction: float, epochs: int) -> int:
    """How many of ``epochs`` a ``ResolutionScheduleHook`` with
    ``low_fraction`` trains at the lower resolution (the first ones)."""
    return int(low_fraction * epochs)


def after_training_s(calib: Calibration, val_images: int,
                     vis_images: int) -> float:
    """Seconds the job needs after the last epoch: the final validation,
    the test (a tool start and a validation) and the pictures (a tool
    start and the drawn images)."""
    val_s = calib.val_image_s * val_images
    return 2 * val_s + 2 * calib.overhead_s + calib.val_image_s * vis_images


def plan_epochs(budget_s: float,
                elapsed_s: float,
                calib: Calibration,
                iters_per_epoch: int,
                val_images: int,
                vis_images: int,
                margin: float = 0.05,
                max_epochs: Optional[int] = None,
                low_fraction: float = 0.) -> int:
    """The most epochs whose whole job fits in the rest of the budget.

    What is left after ``elapsed_s`` pays for the training run (its tool
    start, the epochs and a validation half-way) and what follows training
    (:func:`after_training_s`); ``margin`` of the budget is kept free.
    With ``low_fraction``, the first ``int(low_fraction * epochs)`` epochs
    cost ``calib.low_iter_s`` per iteration (a ``ResolutionScheduleHook``).

    Args:
        budget_s (float): The whole job's budget, seconds.
        elapsed_s (float): Already spent (data, calibration).
        calib (Calibration): The calibration's timings.
        iters_per_epoch (int): Training iterations per epoch.
        val_images (int): Images of a validation / the test.
        vis_images (int): Images drawn at the end.
        margin (float): Fraction of the budget kept free.
        max_epochs (int, optional): Upper bound.
        low_fraction (float): Share of the epochs at the lower resolution
            (``ResolutionScheduleHook``); needs ``calib.low_iter_s``.
            Defaults to 0.

    Returns:
        int: Epochs (at least 1).
    """
    fixed = calib.overhead_s + calib.val_image_s * val_images + \
        after_training_s(calib, val_images, vis_images)
    left = budget_s * (1 - margin) - elapsed_s - fixed
    if low_fraction and not calib.low_iter_s:
        raise ValueError('low_fraction needs a calibration with low_iter_s')
    low_s = (calib.low_iter_s or 0.) * iters_per_epoch
    full_s = calib.iter_s * iters_per_epoch

    def cost(epochs: int) -> float:
        low = low_resolution_epochs(low_fraction, epochs)
        return low * low_s + (epochs - low) * full_s

    epochs = int(left // full_s)  # all at full cost: a lower bound
    while cost(epochs + 1) <= left:
        epochs += 1
    if max_epochs is not None:
        epochs = min(epochs, max_epochs)
    return max(1, epochs)


def describe_cpu() -> str:
    """The CPU model and what oneDNN may compute fast on it: AMX,
    AVX512-BF16, AVX-512, AVX2 (less what ``ONEDNN_MAX_CPU_ISA`` excludes)."""
    model = 'unknown CPU'
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    model = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    flags = usable_cpu_flags() or frozenset()
    isa = [
        name
        for name, flag in (('AMX', 'amx_bf16'), ('AVX512-BF16', 'avx512_bf16'),
                           ('AVX-512', 'avx512f'), ('AVX2', 'avx2'))
        if flag in flags
    ]
    cap = onednn_isa_cap()
    limited = f', ONEDNN_MAX_CPU_ISA={cap}' if cap else ''
    return f'{model} ({", ".join(isa) or "no AVX2"}{limited})'


def precision_used(optim_wrapper_type: str) -> str:
    """``'bfloat16'`` where the config's optimizer wrapper trains in it on
    this CPU, else ``'float32'``."""
    if optim_wrapper_type.split('.')[-1] != 'BF16OptimWrapper':
        return 'float32'
    from mmsolo.engine.optim_wrappers.bf16_optim_wrapper import \
        cpu_supports_bf16
    return 'bfloat16' if cpu_supports_bf16() else 'float32'


__all__: List[str] = [
    'Calibration', 'read_calibration', 'low_resolution_epochs',
    'after_training_s', 'plan_epochs', 'describe_cpu', 'precision_used'
]

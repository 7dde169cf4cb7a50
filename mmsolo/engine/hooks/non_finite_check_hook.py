# Copyright (c) mmsolo contributors. All rights reserved.
"""Stop training at the first non-finite loss or gradient.

Without this hook a diverging run (a learning rate that is too high, bad
annotations) trains on to the end with NaN weights and writes checkpoints of
them. The hook checks every loss term right after the forward pass and every
gradient right before the optimizer step, and raises
:class:`NonFiniteTrainingError` there: the bad update is never applied, so
the weights in memory and every checkpoint on disk are the last good state.
"""
import os.path as osp
from typing import Dict, Iterable, List, Optional

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict
from mmengine.runner import EpochBasedTrainLoop
from torch import Tensor

from mmsolo.registry import HOOKS

DISABLE_HINT = ('To train on regardless, remove NonFiniteCheckHook from '
                '`custom_hooks` (e.g. --cfg-options custom_hooks=[]).')


class NonFiniteTrainingError(FloatingPointError):
    """Raised when a loss term or a gradient is NaN or infinite."""


def _as_tensors(value) -> List[Tensor]:
    """The tensors of a loss entry (a tensor or a list of tensors)."""
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, Tensor)]
    return []


def non_finite_terms(losses: Dict[str, object]) -> List[str]:
    """The names of the loss terms that hold a NaN or infinite value.

    Args:
        losses (dict): Loss name to a tensor or a list of tensors, as the
            model returns them in ``mode='loss'``.

    Returns:
        list[str]: The offending names, in the dict's order.
    """
    return [
        name for name, value in losses.items() if any(
            not torch.isfinite(t.detach()).all() for t in _as_tensors(value))
    ]


def _format_losses(losses: Dict[str, object]) -> str:
    """``name=value`` for every scalar loss term."""
    parts = []
    for name, value in losses.items():
        values = [t.detach().float().mean().item() for t in _as_tensors(value)]
        if values:
            parts.append(f'{name}={sum(values):.4g}')
    return ', '.join(parts)


@HOOKS.register_module()
class NonFiniteCheckHook(Hook):
    """Stop training with a clear error at a non-finite loss or gradient.

    The loss terms are checked as the model returns them (a forward hook),
    before the backward pass; the gradients in a pre-hook of the optimizer
    step, after clipping. Either check raises
    :class:`NonFiniteTrainingError` naming the iteration and the loss terms
    or parameters at fault, before the weights change, so that no
    checkpoint of a bad state can be written. As a last guard the logged
    losses are checked in ``after_train_iter``, before the checkpoint hook
    (this hook's priority is higher).

    With ``AmpOptimWrapper`` (float16), the loss scaler skips the steps whose
    scaled gradients overflow without calling the optimizer, so those are not
    reported: they are part of dynamic loss scaling.

    On by default through ``custom_hooks`` in
    ``configs/_base_/default_runtime.py``; ``custom_hooks=[]`` switches it
    off.

    Args:
        check_grad (bool): Also check the gradients before each step.
            Defaults to True.
        max_names (int): Name at most this many parameters in the message.
            Defaults to 5.
    """

    priority = 'VERY_HIGH'

    def __init__(self, check_grad: bool = True, max_names: int = 5) -> None:
        self.check_grad = check_grad
        self.max_names = max_names
        self._handles: list = []
        self._runner = None
        self._param_names: Dict[int, str] = {}

    def before_train(self, runner) -> None:
        """Install the loss and gradient checks."""
        self._runner = runner
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        self._param_names = {id(p): n for n, p in model.named_parameters()}
        self._handles = [model.register_forward_hook(self._check_forward)]
        if self.check_grad:
            for optimizer in self._optimizers(runner.optim_wrapper):
                self._handles.append(
                    optimizer.register_step_pre_hook(self._check_step))

    def after_train(self, runner) -> None:
        """Remove the checks."""
        self._remove()

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        """Check the logged losses before any checkpoint is written."""
        if outputs:
            bad = non_finite_terms(outputs)
            if bad:
                self._raise(f'non-finite {", ".join(bad)} in the logged '
                            f'losses ({_format_losses(outputs)})')

    @staticmethod
    def _optimizers(optim_wrapper) -> Iterable[torch.optim.Optimizer]:
        if isinstance(optim_wrapper, OptimWrapperDict):
            return [w.optimizer for w in optim_wrapper.values()]
        return [optim_wrapper.optimizer]

    def _remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _check_forward(self, module, args, output) -> None:
        """Forward hook: check the loss dict of a training forward pass."""
        if not module.training or not isinstance(output, dict):
            return
        bad = non_finite_terms(output)
        if bad:
            self._raise(
                f'non-finite loss term {", ".join(bad)} '
                f'({_format_losses(output)}); the weights were not updated')

    def _check_step(self, optimizer, args, kwargs) -> None:
        """Optimizer step pre-hook: check every gradient."""
        grads = [(p, p.grad) for group in optimizer.param_groups
                 for p in group['params'] if p.grad is not None]
        if not grads:
            return
        # one reduction per tensor, one sync; sums propagate NaN and inf
        sums = torch.stack([g.detach().float().sum() for _, g in grads])
        if torch.isfinite(sums).all():
            return
        bad = [
            self._param_names.get(id(p), '<unnamed>') for p, g in grads
            if not torch.isfinite(g).all()
        ]
        if not bad:  # finite values whose sum overflowed
            return
        names = ', '.join(bad[:self.max_names])
        if len(bad) > self.max_names:
            names += f' and {len(bad) - self.max_names} more'
        self._raise(f'non-finite gradient of {len(bad)} parameter(s): '
                    f'{names}; the weights were not updated')

    def _raise(self, what: str) -> None:
        runner = self._runner
        where = f'iteration {runner.iter + 1}'
        if isinstance(runner.train_loop, EpochBasedTrainLoop):
            where += f' (epoch {runner.epoch + 1})'
        last = osp.join(runner.work_dir, 'last_checkpoint')
        if osp.isfile(last):
            with open(last) as f:
                saved = f'the last checkpoint is {f.read().strip()}'
        else:
            saved = 'no checkpoint was written yet'
        self._remove()
        raise NonFiniteTrainingError(
            f'Training stopped at {where}: {what}. Nothing of this state was '
            f'saved; {saved}. Usual causes: a learning rate too high for the '
            'batch size (lower optim_wrapper.optimizer.lr, add warm-up, or '
            'set optim_wrapper.clip_grad), or broken annotations. '
            f'{DISABLE_HINT}')

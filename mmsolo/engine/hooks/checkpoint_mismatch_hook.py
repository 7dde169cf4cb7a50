# Copyright (c) mmsolo contributors. All rights reserved.
"""Explain a checkpoint whose parameter shapes differ from the config's model.

A SOLO checkpoint trained for another number of classes (``conv_cls``) or
other grids (the vanilla head's ``conv_mask_list``, the decoupled heads'
``conv_mask_list_x/y``) does not fit a model built from a config that
changed them. mmengine then loads the other parameters and leaves these at
their initialisation with a generic ``size mismatch`` warning. That is what
fine-tuning wants, and silently wrong for resuming or testing.
"""
import re
from typing import Dict, List, Sequence, Tuple

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop

from mmsolo.registry import HOOKS

#: The fine-tuning recipe that the messages point to (docs/faq.md).
FINETUNE_HINT = (
    'To fine-tune from this checkpoint, train with `load_from=CHECKPOINT` '
    '(not --resume): the parameters whose shapes differ keep their fresh '
    'initialisation and everything else is loaded. See "Fine-tuning from a '
    'checkpoint with other classes or grids" in docs/faq.md.')


class CheckpointMismatchError(RuntimeError):
    """Raised when a checkpoint cannot serve the model as configured."""


def shape_mismatches(
    model_state: Dict[str, object],
    ckpt_state: Dict[str, object],
    revise_keys: Sequence[Tuple[str, str]] = ((r'^module\.', ''), )
) -> List[Tuple[str, tuple, tuple]]:
    """The parameters present in both state dicts with different shapes.

    Args:
        model_state (dict): The model's ``state_dict()``.
        ckpt_state (dict): The checkpoint's state dict.
        revise_keys (Sequence[tuple]): ``(pattern, replacement)`` applied to
            the checkpoint's keys, as in mmengine's ``load_checkpoint``.

    Returns:
        list[tuple]: ``(name, checkpoint shape, model shape)``, sorted by
        name.
    """
    out = []
    for key, value in ckpt_state.items():
        for pattern, repl in revise_keys:
            key = re.sub(pattern, repl, key)
        ours = model_state.get(key)
        if ours is None or not hasattr(value, 'shape'):
            continue
        if tuple(value.shape) != tuple(ours.shape):
            out.append((key, tuple(value.shape), tuple(ours.shape)))
    return sorted(out)


def describe_mismatches(mismatches: List[Tuple[str, tuple, tuple]]) -> str:
    """One line per mismatched parameter, and what the class count is.

    Args:
        mismatches (list[tuple]): As :func:`shape_mismatches` returns.

    Returns:
        str: The description.
    """
    lines = [
        f'  {name}: checkpoint {list(ckpt)}, model {list(model)}'
        for name, ckpt, model in mismatches
    ]
    for name, ckpt, model in mismatches:
        if name.endswith('conv_cls.weight'):
            lines.append(f'The checkpoint was trained for {ckpt[0]} classes, '
                         f'the config has num_classes={model[0]}.')
        elif re.search(r'conv_mask_list(_[xy])?\.\d+\.weight$', name):
            lines.append('The mask branch has other grids (num_grids) than '
                         'the checkpoint.')
            break
    return '\n'.join(lines)


@HOOKS.register_module()
class CheckpointMismatchHook(Hook):
    """Report checkpoint parameters whose shapes differ from the model's.

    Runs in ``after_load_checkpoint``, before the weights are copied:

    - when resuming (``--resume``) or testing, it raises
      :class:`CheckpointMismatchError` listing the parameters, since the
      mismatched ones would stay at their random initialisation;
    - when training with ``load_from`` (fine-tuning), it logs a warning
      that lists them and says that they start from their initialisation.
    """

    priority = 'VERY_HIGH'

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Compare the checkpoint's shapes with the model's."""
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        state = checkpoint.get('state_dict', checkpoint)
        mismatches = shape_mismatches(model.state_dict(), state)
        if not mismatches:
            return
        details = describe_mismatches(mismatches)
        training = isinstance(getattr(runner, '_train_loop', None), BaseLoop)
        if getattr(runner, '_resume', False) or not training:
            action = 'resume from' if training else 'evaluate'
            raise CheckpointMismatchError(
                f'Cannot {action} this checkpoint: {len(mismatches)} '
                'parameter(s) have other shapes than in the model built '
                f'from the config:\n{details}\nSet the config back to the '
                f'checkpoint\'s classes and grids. {FINETUNE_HINT}')
        print_log(
            f'Fine-tuning: {len(mismatches)} parameter(s) of the checkpoint '
            'do not fit the model and keep their initialisation:\n'
            f'{details}\n{FINETUNE_HINT}',
            logger='current',
            level=30)

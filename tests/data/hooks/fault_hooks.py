# Copyright (c) mmsolo contributors. All rights reserved.
"""Test hooks that break a training run on purpose (a SIGKILL as from a
crash, an OOM kill or a pre-empted job; a NaN loss on one rank) or record
what distributed ranks see, for the reliability tests."""
import json
import os
import signal
from typing import List, Optional

from mmengine.dist import all_reduce, get_rank
from mmengine.hooks import Hook

from mmsolo.registry import HOOKS


@HOOKS.register_module()
class KillAtIterHook(Hook):
    """SIGKILL the process once iteration ``at_iter`` has run.

    Args:
        at_iter (int): The 1-based iteration after which to die.
        rank (int, optional): Only this rank dies; by default every one.
    """

    priority = 'LOWEST'

    def __init__(self, at_iter: int, rank: Optional[int] = None) -> None:
        self.at_iter = at_iter
        self.rank = rank

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        """Die without any clean-up, like ``kill -9``."""
        if runner.iter + 1 == self.at_iter and self.rank in (None, get_rank()):
            os.kill(os.getpid(), signal.SIGKILL)


@HOOKS.register_module()
class NaNLossAtIterHook(Hook):
    """Make the losses of iteration ``at_iter`` NaN on one rank only.

    Args:
        at_iter (int): The 1-based iteration whose losses become NaN.
        rank (int, optional): Only on this rank; by default on every one.
    """

    priority = 'HIGHEST'

    def __init__(self, at_iter: int, rank: Optional[int] = None) -> None:
        self.at_iter = at_iter
        self.rank = rank
        self._handle = None

    def before_train(self, runner) -> None:
        """Hook the model's forward pass."""
        model = getattr(runner.model, 'module', runner.model)

        def poison(module, args, output):
            if runner.iter + 1 == self.at_iter and isinstance(
                    output, dict) and self.rank in (None, get_rank()):
                return {k: v * float('nan') for k, v in output.items()}
            return output

        self._handle = model.register_forward_hook(poison)


@HOOKS.register_module()
class LossRecordHook(Hook):
    """Write the loss of every iteration, averaged over the ranks, to a
    JSON list (rank 0 writes it after training).

    Args:
        out_file (str): Where to write the list.
    """

    priority = 'LOWEST'

    def __init__(self, out_file: str) -> None:
        self.out_file = out_file
        self.losses: List[float] = []

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        """Average the iteration's loss over the ranks."""
        loss = outputs['loss'].detach().clone().float()
        all_reduce(loss, op='mean')
        self.losses.append(loss.item())

    def after_train(self, runner) -> None:
        """Save the curve."""
        if get_rank() == 0:
            with open(self.out_file, 'w') as f:
                json.dump(self.losses, f)

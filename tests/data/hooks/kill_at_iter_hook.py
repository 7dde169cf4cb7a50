# Copyright (c) mmsolo contributors. All rights reserved.
"""A test hook that SIGKILLs its own training process (a crash, an OOM kill,
a pre-empted job), for the resume tests."""
import os
import signal

from mmengine.hooks import Hook

from mmsolo.registry import HOOKS


@HOOKS.register_module()
class KillAtIterHook(Hook):
    """SIGKILL the process once iteration ``at_iter`` has run.

    Args:
        at_iter (int): The 1-based iteration after which to die.
    """

    priority = 'LOWEST'

    def __init__(self, at_iter: int) -> None:
        self.at_iter = at_iter

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        """Die without any clean-up, like ``kill -9``."""
        if runner.iter + 1 == self.at_iter:
            os.kill(os.getpid(), signal.SIGKILL)

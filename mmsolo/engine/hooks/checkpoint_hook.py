# Copyright (c) mmsolo contributors. All rights reserved.
"""mmengine's ``CheckpointHook`` with atomic local writes, quietly.

Registered in mmsolo's ``HOOKS`` under mmengine's name, so that the
``checkpoint=dict(type='CheckpointHook')`` of every config in the mmsolo
scope uses it.
"""
import logging
from contextlib import contextmanager
from typing import Iterator

from mmengine.hooks import CheckpointHook as MMEngineCheckpointHook
from mmengine.logging import MMLogger

from mmsolo.registry import HOOKS
from mmsolo.utils.atomic_file_backend import BACKEND_NAME

#: mmengine's own deprecation notices that CheckpointHook triggers on every
#: run whatever the config says (it still builds a ``FileClient``).
_INTERNAL_NOTICES = ('"FileClient" will be deprecated',
                     '"HardDiskBackend" is the alias of "LocalBackend"')


class _DropNotices(logging.Filter):

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        return not any(n in msg for n in _INTERNAL_NOTICES)


@contextmanager
def _without_internal_notices() -> Iterator[None]:
    """Drop mmengine's internal FileClient notices from the current log."""
    logger = MMLogger.get_current_instance()
    notice_filter = _DropNotices()
    logger.addFilter(notice_filter)
    try:
        yield
    finally:
        logger.removeFilter(notice_filter)


@HOOKS.register_module()
class CheckpointHook(MMEngineCheckpointHook):
    """:class:`mmengine.hooks.CheckpointHook` that writes atomically.

    Local checkpoints go through the ``atomic_local`` file backend (a
    temporary file renamed over the target), so a run killed while saving
    never leaves a truncated checkpoint under the final name. Other storage
    (``out_dir`` with a ``scheme://``, or explicit ``backend_args`` /
    ``file_client_args``) is left to mmengine. Arguments as mmengine's.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        local = self.out_dir is None or '://' not in str(self.out_dir)
        if local and self.backend_args is None \
                and self.file_client_args is None:
            self.backend_args = dict(backend=BACKEND_NAME)

    def before_train(self, runner) -> None:
        """As mmengine's, without its internal deprecation notices."""
        with _without_internal_notices():
            super().before_train(runner)

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        with _without_internal_notices():
            super()._save_checkpoint_with_step(runner, step, meta)

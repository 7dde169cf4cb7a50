# Copyright (c) mmsolo contributors. All rights reserved.
"""A local file backend whose writes are atomic.

mmengine writes a checkpoint with ``open(path, 'wb')``: a run killed while
saving leaves a truncated file under the final name. This backend writes to
a temporary file in the same folder, flushes it to disk and renames it over
the target (``os.replace``, atomic on POSIX and Windows), so the target is
either the old file or the complete new one. mmsolo's ``CheckpointHook``
selects it with ``backend_args=dict(backend='atomic_local')``.
"""
import os
import os.path as osp
import tempfile
from pathlib import Path
from typing import Union

from mmengine.fileio import LocalBackend, register_backend

BACKEND_NAME = 'atomic_local'


def atomic_write(data: bytes, path: Union[str, Path]) -> None:
    """Write ``data`` to ``path`` atomically.

    Args:
        data (bytes): The content.
        path (str | Path): The target file; its folder is created.
    """
    path = str(path)
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f'.{osp.basename(path)}.', suffix='.tmp', dir=folder)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


class AtomicLocalBackend(LocalBackend):
    """:class:`mmengine.fileio.LocalBackend` with atomic ``put``."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Write bytes to ``filepath`` atomically."""
        atomic_write(obj, filepath)

    def put_text(self,
                 obj: str,
                 filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        """Write text to ``filepath`` atomically."""
        atomic_write(obj.encode(encoding), filepath)


register_backend(BACKEND_NAME, AtomicLocalBackend, force=True)

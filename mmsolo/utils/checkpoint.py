# Copyright (c) mmsolo contributors. All rights reserved.
"""Safe checkpoint loading for mmengine checkpoints under torch>=2.6.

torch 2.6 made ``torch.load(..., weights_only=True)`` the default, and
mmengine 0.10.x calls ``torch.load`` without the argument. Training
checkpoints hold mmengine's :class:`HistoryBuffer` and numpy arrays in their
``message_hub`` state, which the restricted unpickler refuses, so ``--resume``
and ``load_from`` fail with ``UnpicklingError``.

Turning ``weights_only`` off would execute arbitrary pickle code from a
downloaded file. Instead, this module allow-lists exactly the non-tensor types
that mmengine / mmdet / mmsolo checkpoints hold, and re-registers mmengine's
local-file loader so that a refused checkpoint raises
:class:`UnsafeCheckpointError`, which names the offending global.
"""
import glob
import logging
import os.path as osp
import pickle
import zipfile
from typing import Callable, List, Optional, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer, print_log
from mmengine.runner.checkpoint import CheckpointLoader

_REGISTERED = False


class UnsafeCheckpointError(pickle.UnpicklingError):
    """Raised when a checkpoint holds a type outside the allow-list."""


def _numpy_globals() -> List[Union[Callable, type]]:
    """The numpy functions and classes that pickled arrays refer to."""
    names = []
    try:  # numpy>=2 keeps the pickling helpers in numpy._core
        from numpy._core import multiarray as np_multiarray
    except ImportError:  # pragma: no cover - numpy<2
        from numpy.core import multiarray as np_multiarray
    names += [np_multiarray._reconstruct, np_multiarray.scalar]
    names += [np.ndarray, np.dtype]
    # numpy>=1.25 pickles a dtype through its class in ``numpy.dtypes``.
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        names += [
            getattr(dtypes, n) for n in dir(dtypes)
            if n.endswith('DType') and isinstance(getattr(dtypes, n), type)
        ]
    return names


#: Attributes that checkpoints may fetch with ``getattr`` while unpickling:
#: the statistics methods a pickled :class:`HistoryBuffer` refers to (pickle
#: protocol 2 stores ``HistoryBuffer.min`` as ``getattr(HistoryBuffer,
#: 'min')``).
SAFE_ATTRIBUTES = {HistoryBuffer: ('min', 'max', 'current', 'mean')}


def restricted_getattr(obj, name: str):
    """``getattr`` limited to :data:`SAFE_ATTRIBUTES`.

    Stands in for ``builtins.getattr`` inside the weights-only unpickler, so
    that checkpoints can name HistoryBuffer's statistics methods while a
    pickle that reaches for anything else (e.g. ``getattr(np.ndarray,
    'tofile')``) is refused.

    Args:
        obj: The object the pickle asks an attribute of.
        name (str): The attribute name.

    Returns:
        The attribute.

    Raises:
        UnsafeCheckpointError: For any other object or attribute.
    """
    allowed = SAFE_ATTRIBUTES.get(obj, ()) if isinstance(obj, type) else ()
    if name not in allowed:
        raise UnsafeCheckpointError(
            f'checkpoint asks for getattr({getattr(obj, "__name__", obj)!r}, '
            f'{name!r}), which is not allowed')
    return getattr(obj, name)


def restricted_bytes(*args) -> bytes:
    """``bytes()`` limited to the empty bytes object.

    Stands in for ``builtins.bytes`` inside the weights-only unpickler. Pickle
    protocol 2 stores ``b''`` as the call ``bytes()``, which is how the data
    of a zero-size numpy array (an empty :class:`HistoryBuffer`, for one)
    reaches a checkpoint; non-empty bytes are stored through
    ``_codecs.encode``, which torch allows itself. Any argument is refused,
    so that a pickle cannot use ``bytes(n)`` to allocate ``n`` bytes.

    Args:
        *args: What the pickle passes to ``bytes``; must be empty.

    Returns:
        bytes: ``b''``.

    Raises:
        UnsafeCheckpointError: When called with any argument.
    """
    if args:
        raise UnsafeCheckpointError(
            'checkpoint calls bytes() with arguments, which is not allowed '
            '(only the empty bytes object is)')
    return b''


def safe_checkpoint_globals() -> List[Union[Callable, type, tuple]]:
    """The types that mmengine / mmdet / mmsolo checkpoints hold.

    Returns:
        list: Classes and functions passed to
        ``torch.serialization.add_safe_globals``.
    """
    return [HistoryBuffer] + _numpy_globals() + [
        (restricted_getattr, 'builtins.getattr'),
        (restricted_getattr, '__builtin__.getattr'),
        (restricted_bytes, 'builtins.bytes'),
        (restricted_bytes, '__builtin__.bytes'),
    ]


def load_checkpoint_file(
        filename: str,
        map_location: Optional[Union[str, Callable]] = None) -> dict:
    """Load a local checkpoint with ``weights_only=True``.

    Args:
        filename (str): Path of the checkpoint file.
        map_location (str | Callable, optional): As in ``torch.load``.

    Returns:
        dict: The loaded checkpoint.

    Raises:
        FileNotFoundError: If the file does not exist.
        UnsafeCheckpointError: If the file holds a global that is not in the
            allow-list; nothing from the file is executed.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    try:
        return torch.load(
            filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        raise UnsafeCheckpointError(
            f'Refused to load checkpoint "{filename}": it holds an object '
            'outside the types that mmengine/mmdet/mmsolo checkpoints '
            'contain, and loading it could run arbitrary code. Nothing from '
            'the file was executed. If you created this file yourself and '
            'trust it, inspect it with `torch.load(path, weights_only=False)` '
            f'and re-save its state dict.\nDetails from torch: {e}') from None


def register_safe_checkpoint_loading() -> None:
    """Allow-list checkpoint types and install the safe local loader.

    Idempotent: calling it again does nothing.
    """
    global _REGISTERED
    if _REGISTERED:
        return
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is not None:  # torch>=2.4
        add_safe_globals(safe_checkpoint_globals())
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_checkpoint_file, force=True)
    _REGISTERED = True


def is_complete_checkpoint(path: str) -> bool:
    """Whether ``path`` is a whole torch zip checkpoint.

    The zip's central directory is written last, so a file cut short while
    being saved has none. Nothing is unpickled.

    Args:
        path (str): The file.

    Returns:
        bool: True when the file opens as a zip archive.
    """
    try:
        with zipfile.ZipFile(path):
            return True
    except (OSError, zipfile.BadZipFile):
        return False


def latest_complete_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint that ``--resume`` should continue from.

    The one that ``work_dir/last_checkpoint`` names when it is complete;
    otherwise (a run killed while saving by a writer that is not atomic) the
    newest complete ``*.pth`` of ``work_dir``, with a warning.

    Args:
        work_dir (str): The run's work dir.

    Returns:
        str | None: The path, or None when there is no complete checkpoint.
    """
    last_file = osp.join(work_dir, 'last_checkpoint')
    named = None
    if osp.isfile(last_file):
        with open(last_file) as f:
            named = f.read().strip() or None
    if named and is_complete_checkpoint(named):
        return named
    found = sorted(
        glob.glob(osp.join(work_dir, '*.pth')), key=osp.getmtime, reverse=True)
    found = [p for p in found if is_complete_checkpoint(p)]
    if named or found:
        print_log(
            f'The last checkpoint {named or "(none recorded)"} is missing or '
            f'incomplete; resuming from {found[0] if found else "scratch"}.',
            logger='current',
            level=logging.WARNING)
    return found[0] if found else None

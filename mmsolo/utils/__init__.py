# Copyright (c) mmsolo contributors. All rights reserved.
"""Utilities of mmsolo.

Only :mod:`.version_check` is imported eagerly: ``import mmsolo`` runs the
version check before anything that imports mmengine / torch, so that a
broken install reports what to install instead of an ``ImportError`` from
deep inside a dependency. The other helpers are imported on first access.
"""
from importlib import import_module

from .version_check import check_versions, format_problems

_LAZY = {
    'UnsafeCheckpointError': 'checkpoint',
    'load_checkpoint_file': 'checkpoint',
    'register_safe_checkpoint_loading': 'checkpoint',
    'safe_checkpoint_globals': 'checkpoint',
    'setup_cpu_distributed': 'dist',
    'register_all_modules': 'setup_env',
}


def __getattr__(name: str):
    """Import the helpers of ``_LAZY`` on first access (PEP 562)."""
    if name in _LAZY:
        return getattr(import_module(f'{__name__}.{_LAZY[name]}'), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


__all__ = [
    'check_versions', 'format_problems', 'UnsafeCheckpointError',
    'load_checkpoint_file', 'register_safe_checkpoint_loading',
    'safe_checkpoint_globals', 'setup_cpu_distributed', 'register_all_modules'
]

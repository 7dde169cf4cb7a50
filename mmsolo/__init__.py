# Copyright (c) mmsolo contributors. All rights reserved.
"""mmsolo: SOLO instance segmentation on the OpenMMLab 2.0 stack."""
from .utils.version_check import check_versions, format_problems
from .version import __version__, version_info

_problems = check_versions()
if _problems:
    raise ImportError(format_problems(_problems))

# Importing mmsolo makes mmengine checkpoints loadable under torch>=2.6
# with ``weights_only=True`` kept on (see mmsolo/utils/checkpoint.py).
from .utils.checkpoint import register_safe_checkpoint_loading  # noqa: E402

register_safe_checkpoint_loading()

__all__ = ['__version__', 'version_info']

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

# ``mmsolo::solo/...`` configs, e.g. ``_base_ = 'mmsolo::...'`` in a user's
# config, resolve to mmsolo/.mim/configs.
from .utils.tool_config import register_config_prefix  # noqa: E402

register_config_prefix()

__all__ = ['__version__', 'version_info']

# Copyright (c) mmsolo contributors. All rights reserved.
"""The config loading that ``tools/train.py`` and ``tools/test.py`` share."""
import os.path as osp
from typing import Optional

from mmengine.config import Config
from mmengine.registry import init_default_scope


def load_tool_config(config: str,
                     cfg_options: Optional[dict] = None,
                     launcher: str = 'none',
                     work_dir: Optional[str] = None) -> Config:
    """Load a config as mmdet's tools do.

    Reads the file, applies ``--cfg-options``, records the launcher, sets the
    default scope and picks the work dir: the command line's, else the
    config's, else ``./work_dirs/<config name>``.

    Args:
        config (str): Path of the config file.
        cfg_options (dict, optional): Overrides from ``--cfg-options``.
        launcher (str): The job launcher.
        work_dir (str, optional): ``--work-dir``.

    Returns:
        Config: The loaded config.
    """
    cfg = Config.fromfile(config)
    cfg.launcher = launcher
    if cfg_options is not None:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmsolo'))
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config))[0])
    return cfg

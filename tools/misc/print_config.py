# Copyright (c) mmsolo contributors. All rights reserved.
"""Print the whole config (``_base_`` files and ``--cfg-options`` merged).

Example::

    python tools/misc/print_config.py configs/solo/solo_r50_fpn_1x_coco.py
    python tools/misc/print_config.py mmsolo::solo/solo_r50_fpn_1x_coco.py \\
        --cfg-options model.mask_head.num_classes=4 --save-path full.py
"""
import argparse
import os
from typing import Optional, Sequence

from mmengine.config import Config

from mmsolo.utils.tool_config import add_cfg_options_arg, load_any_config


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description='Print the whole config')
    parser.add_argument(
        'config', help='config file path or package::path (mmdet::...)')
    parser.add_argument(
        '--save-path',
        default=None,
        help='save path of whole config, suffixed with .py, .json or .yml')
    add_cfg_options_arg(parser)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> Config:
    """Print (and save) the config named on the command line."""
    from mmdet.utils import replace_cfg_vals, update_data_root
    args = parse_args(argv)
    cfg = load_any_config(args.config)
    cfg = replace_cfg_vals(cfg)  # ${key} -> the value of cfg.key
    update_data_root(cfg)  # $MMDET_DATASETS, as mmdet's tool
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    print(f'Config:\n{cfg.pretty_text}')
    if args.save_path is not None:
        suffix = os.path.splitext(args.save_path)[-1]
        if suffix not in ('.py', '.json', '.yml'):
            raise ValueError(f'--save-path must end with .py, .json or '
                             f'.yml, got {args.save_path}')
        os.makedirs(
            os.path.dirname(os.path.abspath(args.save_path)), exist_ok=True)
        cfg.dump(args.save_path)
        print(f'Config saving at {args.save_path}')
    return cfg


if __name__ == '__main__':
    main()

# Copyright (c) mmsolo contributors. All rights reserved.
"""Train a model.

Same arguments and behaviour as MMDetection 3.x's ``tools/train.py``;
additionally, distributed runs (``--launcher pytorch|slurm|mpi``) work on
machines without CUDA, using the ``gloo`` backend.

Examples:
    python tools/train.py configs/solo/solo_r50_fpn_1x_coco.py
    python tools/train.py CONFIG --resume            # latest in work_dir
    python tools/train.py CONFIG --resume CKPT.pth   # a given checkpoint
    bash tools/dist_train.sh CONFIG 2                # 2 processes
"""
import argparse
import os.path as osp
import sys

try:  # first: version checks and safe checkpoint loading
    import mmsolo  # noqa: F401
except ModuleNotFoundError as e:  # not installed: use this checkout
    if e.name != 'mmsolo':
        raise
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
    import mmsolo  # noqa: F401
from mmdet.utils import setup_cache_size_limit_of_dynamo

from mmsolo.utils.checkpoint import latest_complete_checkpoint
from mmsolo.utils.denormal import apply_flush_denormal
from mmsolo.utils.dist import setup_cpu_distributed, teardown_cpu_distributed
from mmsolo.utils.tool_config import (add_cfg_options_arg, add_launcher_arg,
                                      build_runner, load_tool_config,
                                      parse_launcher_args)


def parse_args() -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description='Train a detector')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--amp',
        action='store_true',
        default=False,
        help='enable automatic-mixed-precision training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='enable automatically scaling LR.')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='If specify checkpoint path, resume from it, while if not '
        'specify, try to auto resume from the latest checkpoint '
        'in the work directory.')
    add_cfg_options_arg(parser)
    add_launcher_arg(parser)
    return parse_launcher_args(parser)


def main() -> None:
    """Build the runner from the config and train."""
    args = parse_args()

    # Reduce the number of repeated compilations and improve
    # training speed.
    setup_cache_size_limit_of_dynamo()

    cfg = load_tool_config(args.config, args.cfg_options, args.launcher,
                           args.work_dir)
    # before any parallel op starts torch's CPU threads (they inherit it)
    apply_flush_denormal(cfg)

    # enable automatic-mixed-precision training
    if args.amp is True:
        import torch
        if torch.cuda.is_available():
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'
        else:
            # mmengine's AmpOptimWrapper needs CUDA (float16 + loss scaling);
            # on a CPU, mixed precision means bfloat16 autocast.
            from mmsolo.engine import cpu_supports_bf16
            if not cpu_supports_bf16():
                raise SystemExit(
                    '--amp without a CUDA GPU trains with bfloat16 autocast '
                    'on the CPU, and this CPU has no native bfloat16 '
                    '(AVX512-BF16 or AMX), where it is slower than float32: '
                    'train without --amp.')
            cfg.optim_wrapper.type = 'BF16OptimWrapper'
            print('--amp on a CPU: bfloat16 autocast (BF16OptimWrapper)')

    # enable automatically scaling LR
    if args.auto_scale_lr:
        if 'auto_scale_lr' in cfg and \
                'enable' in cfg.auto_scale_lr and \
                'base_batch_size' in cfg.auto_scale_lr:
            cfg.auto_scale_lr.enable = True
        else:
            raise RuntimeError('Can not find "auto_scale_lr" or '
                               '"auto_scale_lr.enable" or '
                               '"auto_scale_lr.base_batch_size" in your'
                               ' configuration file.')

    # resume is determined in this priority: resume from > auto_resume
    if args.resume == 'auto':
        # the newest complete checkpoint (a run killed while mmengine saved
        # without mmsolo's atomic CheckpointHook may have left a cut file)
        cfg.load_from = latest_complete_checkpoint(cfg.work_dir)
        cfg.resume = cfg.load_from is not None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    # distributed runs without CUDA: gloo process group + CPU DDP wrapper
    cpu_distributed = setup_cpu_distributed(cfg, args.launcher)

    # the config's runner_type, else mmengine's Runner
    runner = build_runner(cfg)

    # start training
    runner.train()

    if cpu_distributed:
        teardown_cpu_distributed()


if __name__ == '__main__':
    main()

# Copyright (c) mmsolo contributors. All rights reserved.
"""Test (and evaluate) a model.

Same arguments and behaviour as MMDetection 3.x's ``tools/test.py``;
additionally, distributed runs (``--launcher pytorch|slurm|mpi``) work on
machines without CUDA, using the ``gloo`` backend.

Examples:
    python tools/test.py CONFIG CHECKPOINT
    python tools/test.py CONFIG CHECKPOINT --out results.pkl
    python tools/test.py CONFIG CHECKPOINT --show-dir vis
    bash tools/dist_test.sh CONFIG CHECKPOINT 2
"""
import argparse
import os.path as osp
import sys
import warnings
from copy import deepcopy

try:  # first: version checks and safe checkpoint loading
    import mmsolo  # noqa: F401
except ModuleNotFoundError as e:  # not installed: use this checkout
    if e.name != 'mmsolo':
        raise
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
    import mmsolo  # noqa: F401
from mmdet.engine.hooks.utils import trigger_visualization_hook
from mmdet.evaluation import DumpDetResults
from mmdet.utils import setup_cache_size_limit_of_dynamo
from mmengine.config import Config, ConfigDict
from mmengine.registry import DefaultScope

from mmsolo.registry import MODELS
from mmsolo.utils.denormal import apply_flush_denormal
from mmsolo.utils.dist import setup_cpu_distributed, teardown_cpu_distributed
from mmsolo.utils.tool_config import (add_cfg_options_arg, add_launcher_arg,
                                      build_runner, load_tool_config,
                                      parse_launcher_args)
from mmsolo.utils.tool_data import add_model_args


def parse_args() -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description='MMSOLO test (and eval) a model')
    add_model_args(parser, 'test config file path')
    parser.add_argument(
        '--work-dir',
        help='the directory to save the file containing evaluation metrics')
    parser.add_argument(
        '--out',
        type=str,
        help='dump predictions to a pickle file for offline evaluation')
    parser.add_argument(
        '--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir',
        help='directory where painted images will be saved. '
        'If specified, it will be automatically saved '
        'to the work_dir/timestamp/show_dir')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='the interval of show (s)')
    add_cfg_options_arg(parser)
    add_launcher_arg(parser)
    parser.add_argument(
        '--tta',
        action='store_true',
        help='test-time augmentation with the config\'s ``tta_model``: '
        'mmsolo\'s configs use ``SOLOTTAModel`` (the head outputs of the '
        'image and its flips are averaged; horizontal unless '
        '``model.test_cfg.tta_flips`` or ``tta_model.tta_flips`` lists '
        'flips); without one, mmdet\'s ``DetTTAModel``')
    return parse_launcher_args(parser)


def setup_tta(cfg: Config) -> Config:
    """Set up test-time augmentation, as mmdet's tools/test.py does.

    The config's ``tta_model`` wraps the model (mmsolo's configs inherit
    ``SOLOTTAModel``, the flip TTA that merges the views' head outputs
    before the post-processing); without one, mmdet's ``DetTTAModel``.
    A TTA model whose class sets ``plain_test_pipeline`` reads the test
    pipeline as it is; others get ``tta_pipeline`` (mmdet's flip
    ``TestTimeAug`` unless the config has one).

    Args:
        cfg (Config): The config.

    Returns:
        Config: The updated config.
    """
    if 'tta_model' not in cfg:
        warnings.warn('Cannot find ``tta_model`` in config, '
                      'we will set it as default.')
        cfg.tta_model = dict(
            type='mmdet.DetTTAModel',
            tta_cfg=dict(
                nms=dict(type='nms', iou_threshold=0.5), max_per_img=100))
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        tta_cls = MODELS.get(cfg.tta_model['type'])
    if not getattr(tta_cls, 'plain_test_pipeline', False):
        if 'tta_pipeline' not in cfg:
            warnings.warn('Cannot find ``tta_pipeline`` in config, '
                          'we will set it as default.')
            test_data_cfg = cfg.test_dataloader.dataset
            while 'dataset' in test_data_cfg:
                test_data_cfg = test_data_cfg['dataset']
            cfg.tta_pipeline = deepcopy(test_data_cfg.pipeline)
            flip_tta = dict(
                type='TestTimeAug',
                transforms=[
                    [
                        dict(type='mmdet.RandomFlip', prob=1.),
                        dict(type='mmdet.RandomFlip', prob=0.)
                    ],
                    [
                        dict(
                            type='mmdet.PackDetInputs',
                            meta_keys=('img_id', 'img_path', 'ori_shape',
                                       'img_shape', 'scale_factor', 'flip',
                                       'flip_direction'))
                    ],
                ])
            cfg.tta_pipeline[-1] = flip_tta
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
    return cfg


def main() -> None:
    """Build the runner from the config, load the checkpoint and test."""
    args = parse_args()

    # Reduce the number of repeated compilations and improve
    # testing speed.
    setup_cache_size_limit_of_dynamo()

    cfg = load_tool_config(args.config, args.cfg_options, args.launcher,
                           args.work_dir)
    # before any parallel op starts torch's CPU threads (they inherit it)
    apply_flush_denormal(cfg)

    cfg.load_from = args.checkpoint

    if args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)

    if args.tta:
        cfg = setup_tta(cfg)

    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        raise ValueError(
            f'--out must name a .pkl or .pickle file, got {args.out!r}.')

    # distributed runs without CUDA: gloo process group + CPU DDP wrapper
    cpu_distributed = setup_cpu_distributed(cfg, args.launcher)

    # the config's runner_type, else mmengine's Runner
    runner = build_runner(cfg)

    # add `DumpResults` dummy metric
    if args.out is not None:
        runner.test_evaluator.metrics.append(
            DumpDetResults(out_file_path=args.out))

    # start testing
    runner.test()

    if cpu_distributed:
        teardown_cpu_distributed()


if __name__ == '__main__':
    main()

# Copyright (c) mmsolo contributors. All rights reserved.
"""FLOPs and parameters of a detector (mmengine's complexity analysis).

The model is built from its config with random weights (no pretrained
download) and traced on one generated ``H x W`` image, padded as the
config's data pre-processor pads it. Works for mmsolo configs and for
configs of other OpenMMLab packages (``mmdet::mask_rcnn/...``).

Example::

    python tools/analysis_tools/get_flops.py \\
        configs/solo/solo_r50_fpn_1x_coco.py --shape 800 1333
    python tools/analysis_tools/get_flops.py \\
        mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py --shape 800 1333

The FLOPs are those of ``model.forward(mode='tensor')``: backbone, neck and
head outputs. Post-processing (NMS, mask pasting) is not counted; SOLO's
vanilla head computes its mask logits for every grid cell in this mode.
"""
import argparse
import copy
import importlib
from functools import partial
from typing import Optional, Sequence, Tuple

import torch
from mmengine.config import Config

from mmsolo.utils.tool_config import (CFG_OPTIONS_HELP_BRIEF,
                                      add_cfg_options_arg, load_any_config)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description='FLOPs and parameters of a detector')
    parser.add_argument(
        'config', help='config file path or package::path (mmdet::...)')
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        default=[800, 1333],
        help='input image size: H W, or one number for a square '
        '(default: 800 1333)')
    parser.add_argument(
        '--show-table',
        action='store_true',
        help='also print the per-module table')
    add_cfg_options_arg(parser, CFG_OPTIONS_HELP_BRIEF)
    return parser.parse_args(argv)


def image_shape(shape: Sequence[int]) -> Tuple[int, int]:
    """``--shape`` as ``(H, W)``.

    Args:
        shape (Sequence[int]): One or two numbers.

    Returns:
        tuple[int, int]: Height and width.
    """
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    raise ValueError(f'--shape takes H W or one size, got {list(shape)}')


def config_scope(cfg: Config) -> str:
    """The registry scope a config builds in (mmsolo unless it says)."""
    return cfg.get('default_scope', None) or 'mmsolo'


def drop_pretrained(model_cfg: dict) -> None:
    """Clear every ``init_cfg`` that would download pretrained weights."""
    if isinstance(model_cfg, dict):
        init_cfg = model_cfg.get('init_cfg')
        if isinstance(init_cfg, dict) and \
                init_cfg.get('type') == 'Pretrained':
            model_cfg['init_cfg'] = None
        for value in model_cfg.values():
            drop_pretrained(value)
    elif isinstance(model_cfg, (list, tuple)):
        for value in model_cfg:
            drop_pretrained(value)


def build_detector(cfg: Config,
                   checkpoint: Optional[str] = None,
                   device: str = 'cpu') -> torch.nn.Module:
    """Build ``cfg.model`` in its scope, in eval mode.

    Pretrained backbone weights are never downloaded: without
    ``checkpoint`` the weights are the model's own random initialisation.
    SyncBN becomes BN (no process group needed).

    Args:
        cfg (Config): The config.
        checkpoint (str, optional): Weights to load.
        device (str): Device to put the model on.

    Returns:
        nn.Module: The detector.
    """
    from mmengine.logging import MMLogger
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import DefaultScope
    from mmengine.runner import load_checkpoint
    scope = config_scope(cfg)
    registry = importlib.import_module(f'{scope}.registry').MODELS
    model_cfg = copy.deepcopy(cfg.model)
    drop_pretrained(model_cfg)
    with DefaultScope.overwrite_default_scope(scope):
        model = registry.build(model_cfg)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel('WARNING')  # no per-parameter initialisation log
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)
    if checkpoint:
        load_checkpoint(model, checkpoint, map_location='cpu')
    model = revert_sync_batchnorm(model)
    return model.to(device).eval()


def make_batch(shape: Tuple[int, int],
               image: Optional[torch.Tensor] = None) -> dict:
    """A one-image data batch as a test data loader gives it.

    Args:
        shape (tuple[int, int]): ``(H, W)`` of the image.
        image (Tensor, optional): A (3, H, W) uint8 BGR image; default: a
            mid-grey image.

    Returns:
        dict: ``inputs`` and ``data_samples`` for ``model.test_step`` or
        ``model.data_preprocessor``.
    """
    from mmdet.structures import DetDataSample
    height, width = shape
    if image is None:
        image = torch.full((3, height, width), 128, dtype=torch.uint8)
    sample = DetDataSample(
        metainfo=dict(
            img_id=0,
            img_path='',
            ori_shape=(height, width),
            img_shape=(height, width),
            scale_factor=(1.0, 1.0)))
    return dict(inputs=[image], data_samples=[sample])


def get_complexity(model: torch.nn.Module,
                   shape: Tuple[int, int],
                   show_table: bool = False) -> dict:
    """FLOPs and parameters of ``model`` on one ``shape`` image.

    Args:
        model (nn.Module): A detector (``BaseDetector``) in eval mode.
        shape (tuple[int, int]): ``(H, W)`` of the image.
        show_table (bool): Also return mmengine's per-module table.

    Returns:
        dict: ``flops``, ``params`` (numbers), ``flops_str``,
        ``params_str``, ``input_shape`` (padded network input H, W) and
        ``out_table``.
    """
    from mmengine.analysis import get_model_complexity_info
    with torch.no_grad():
        data = model.data_preprocessor(make_batch(shape), False)
    samples = data['data_samples']
    forward = model.forward
    model.forward = partial(forward, data_samples=samples, mode='tensor')
    try:  # no_grad: no activation checkpointing (``with_cp``) in the trace
        with torch.no_grad():
            info = get_model_complexity_info(
                model,
                inputs=data['inputs'],
                show_table=show_table,
                show_arch=False)
    finally:
        del model.forward  # back to the class's forward
    info['input_shape'] = tuple(data['inputs'].shape[-2:])
    return info


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Print the FLOPs and parameters of a config.

    Args:
        argv (Sequence[str], optional): Command line (default:
            ``sys.argv``).

    Returns:
        dict: What :func:`get_complexity` returns.
    """
    args = parse_args(argv)
    shape = image_shape(args.shape)
    cfg = load_any_config(args.config, args.cfg_options)
    model = build_detector(cfg)
    info = get_complexity(model, shape, args.show_table)
    split_line = '=' * 30
    if args.show_table:
        print(info['out_table'])
    if info['input_shape'] != shape:
        print(f'{split_line}\nUse size divisor set input shape '
              f'from {shape} to {info["input_shape"]}')
    print(f'{split_line}\nConfig: {args.config}\n'
          f'Input shape: {info["input_shape"]}\n'
          f'Flops: {info["flops_str"]}\nParams: {info["params_str"]}\n'
          f'{split_line}')
    print('!!!Please be cautious if you use the results in papers. '
          'You may need to check if all ops are supported and verify '
          'that the flops computation is correct.')
    return info


if __name__ == '__main__':
    main()

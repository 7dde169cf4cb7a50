# Copyright (c) mmsolo contributors. All rights reserved.
"""Draw a dataset's ground truth (boxes, masks, labels) after its pipeline.

Example::

    python tools/analysis_tools/browse_dataset.py \
        configs/quickstart/solo_r18_fpn_shapes.py \
        --output-dir work_dirs/browse --not-show
"""
import argparse
import os
import os.path as osp

import numpy as np
from mmengine.utils import ProgressBar

from mmsolo.utils.tool_config import add_cfg_options_arg, load_tool_config


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Browse a dataset')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--output-dir',
        default=None,
        type=str,
        help='folder to save the drawn images (PNG) in')
    parser.add_argument(
        '--not-show',
        default=False,
        action='store_true',
        help='do not open a window (needed without a display)')
    parser.add_argument(
        '--show-interval',
        type=float,
        default=2,
        help='seconds each image is shown')
    parser.add_argument(
        '--phase',
        default='train',
        choices=['train', 'val', 'test'],
        help='which dataloader\'s dataset to browse')
    parser.add_argument(
        '--max-num',
        type=int,
        default=None,
        help='browse at most this many images')
    add_cfg_options_arg(parser)
    return parser.parse_args(argv)


def _to_ndarray(masks) -> np.ndarray:
    """Turn ``BitmapMasks``/``PolygonMasks``/tensors into a bool array."""
    if hasattr(masks, 'to_ndarray'):
        masks = masks.to_ndarray()
    elif hasattr(masks, 'numpy'):
        masks = masks.numpy()
    return np.asarray(masks).astype(bool)


def main(argv=None):
    args = parse_args(argv)
    if args.not_show and args.output_dir is None:
        raise SystemExit('Nothing to do: give --output-dir or drop '
                         '--not-show.')
    # also registers mmsolo's (and through it mmdet's) modules
    cfg = load_tool_config(args.config, args.cfg_options)
    from mmdet.structures.bbox import BaseBoxes

    from mmsolo.registry import DATASETS, VISUALIZERS

    dataset = DATASETS.build(cfg[f'{args.phase}_dataloader'].dataset)
    visualizer = VISUALIZERS.build(cfg.visualizer)
    visualizer.dataset_meta = dataset.metainfo
    if args.output_dir is not None:
        os.makedirs(args.output_dir, exist_ok=True)

    num = len(dataset)
    if args.max_num is not None:
        num = min(num, args.max_num)
    progress_bar = ProgressBar(num)
    for idx in range(num):
        item = dataset[idx]
        img = item['inputs'].permute(1, 2, 0).numpy()
        img = np.ascontiguousarray(img[..., [2, 1, 0]])  # BGR to RGB
        data_sample = item['data_samples'].numpy()
        gt_instances = data_sample.gt_instances
        gt_bboxes = gt_instances.get('bboxes', None)
        if gt_bboxes is not None and isinstance(gt_bboxes, BaseBoxes):
            gt_instances.bboxes = gt_bboxes.tensor
        gt_masks = gt_instances.get('masks', None)
        if gt_masks is not None:
            gt_instances.masks = _to_ndarray(gt_masks)
        data_sample.gt_instances = gt_instances

        name = osp.splitext(osp.basename(data_sample.img_path))[0]
        out_file = None
        if args.output_dir is not None:
            out_file = osp.join(args.output_dir, f'{name}.png')
        visualizer.add_datasample(
            name,
            img,
            data_sample,
            draw_pred=False,
            show=not args.not_show,
            wait_time=args.show_interval,
            out_file=out_file)
        progress_bar.update()


if __name__ == '__main__':
    main()

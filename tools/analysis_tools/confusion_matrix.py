# Copyright (c) mmsolo contributors. All rights reserved.
"""Confusion matrix of saved instance predictions, matched by mask IoU.

mmdet's tool matches by box IoU; here a prediction (scoring at least
``--score-thr``) and a ground-truth instance match when their **masks**
overlap by at least ``--tp-iou-thr``. Otherwise the counting is mmdet's: a
prediction adds one to (ground-truth class, predicted class) for every
instance it matches, or to the *background* row when it matches none; a
ground-truth instance that no prediction of its class matches adds one to
the *background* column. The matrix is drawn by mmdet's
``plot_confusion_matrix`` (rows normalised to percentages) and saved as
``OUT_DIR/confusion_matrix.png``; the counts go to
``OUT_DIR/confusion_matrix.json``.

Example::

    python tools/test.py CONFIG CKPT --out work_dirs/pred.pkl
    python tools/analysis_tools/confusion_matrix.py CONFIG \\
        work_dirs/pred.pkl --out-dir work_dirs/analysis
"""
import argparse
import importlib.util
import json
import os
import os.path as osp
from typing import Dict, Optional, Sequence

import numpy as np
from mmengine.utils import ProgressBar

from mmsolo.utils import tool_config, tool_data


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = tool_data.prediction_parser(
        'Confusion matrix of instance predictions (mask IoU)',
        out_dir_help='where to save the matrix')
    parser.add_argument('--show', action='store_true', help='show the matrix')
    parser.add_argument(
        '--color-theme', default='plasma', help='matplotlib color map')
    parser.add_argument(
        '--score-thr',
        type=float,
        default=0.3,
        help='ignore predictions scoring below this')
    parser.add_argument(
        '--tp-iou-thr',
        type=float,
        default=0.5,
        help='mask IoU at which a prediction matches an instance')
    tool_config.add_cfg_options_arg(parser, tool_config.CFG_OPTIONS_HELP_BRIEF)
    return parser.parse_args(argv)


def analyze_per_img_dets(confusion_matrix: np.ndarray,
                         gts: dict,
                         pred: dict,
                         score_thr: float = 0.3,
                         tp_iou_thr: float = 0.5) -> None:
    """Add one image's predictions to ``confusion_matrix`` (in place).

    Args:
        confusion_matrix (np.ndarray): (C + 1, C + 1) counts; the last row
            and column are the background.
        gts (dict): ``labels`` and mask RLEs ``masks`` of the instances.
        pred (dict): ``labels``, ``scores`` and mask RLEs ``masks``.
        score_thr (float): Ignore predictions scoring below this.
        tp_iou_thr (float): Mask IoU at which a prediction matches.
    """
    from pycocotools import mask as mask_utils
    keep = np.flatnonzero(pred['scores'] >= score_thr)
    det_masks = [pred['masks'][i] for i in keep]
    det_labels = pred['labels'][keep]
    gt_labels = gts['labels']
    if len(det_masks) and len(gts['masks']):
        ious = np.asarray(
            mask_utils.iou(det_masks, gts['masks'], [0] * len(gt_labels)))
    else:
        ious = np.zeros((len(det_masks), len(gt_labels)))
    true_positives = np.zeros(len(gt_labels), dtype=bool)
    for det_label, det_ious in zip(det_labels, ious):
        matched = np.flatnonzero(det_ious >= tp_iou_thr)
        for j in matched:
            confusion_matrix[gt_labels[j], det_label] += 1
            true_positives[j] |= gt_labels[j] == det_label
        if not len(matched):  # false positive on the background
            confusion_matrix[-1, det_label] += 1
    for gt_label in gt_labels[~true_positives]:  # missed
        confusion_matrix[gt_label, -1] += 1


def calculate_confusion_matrix(dataset,
                               preds: Dict[int, dict],
                               score_thr: float = 0.3,
                               tp_iou_thr: float = 0.5) -> np.ndarray:
    """The confusion matrix of ``preds`` over ``dataset``.

    Args:
        dataset (BaseDetDataset): The test dataset (ground truth).
        preds (dict[int, dict]): Predictions by image id
            (:func:`mmsolo.utils.tool_data.load_predictions`).
        score_thr (float): Ignore predictions scoring below this.
        tp_iou_thr (float): Mask IoU at which a prediction matches.

    Returns:
        np.ndarray: (C + 1, C + 1) counts, rows ground truth, columns
        predictions, background last.
    """
    num_classes = len(dataset.metainfo['classes'])
    matrix = np.zeros((num_classes + 1, num_classes + 1))
    empty = dict(labels=np.zeros(0, np.int64), scores=np.zeros(0), masks=[])
    progress = ProgressBar(len(dataset))
    for idx in range(len(dataset)):
        info = dataset.get_data_info(idx)
        analyze_per_img_dets(matrix, tool_data.ground_truth(info),
                             preds.get(info['img_id'], empty), score_thr,
                             tp_iou_thr)
        progress.update()
    print()
    return matrix


def mmdet_plot_confusion_matrix():
    """``plot_confusion_matrix`` of mmdet's own confusion matrix tool.

    The tool ships with mmdet in ``mmdet/.mim/tools`` (pip installs) or
    ``tools/`` (source checkouts, linked from ``.mim``).
    """
    from mmsolo.utils.tool_config import package_path
    path = osp.join(
        package_path('mmdet'), '.mim', 'tools', 'analysis_tools',
        'confusion_matrix.py')
    if not osp.exists(path):
        raise FileNotFoundError(
            f'{path} is missing: install mmdet with pip (its wheel ships '
            'its tools) or from a source checkout')
    spec = importlib.util.spec_from_file_location('mmdet_confusion_matrix',
                                                  path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.plot_confusion_matrix


def main(argv: Optional[Sequence[str]] = None) -> np.ndarray:
    """Compute, save and draw the confusion matrix.

    Args:
        argv (Sequence[str], optional): Command line.

    Returns:
        np.ndarray: The counts.
    """
    args = parse_args(argv)
    import matplotlib
    if not args.show:
        matplotlib.use('Agg')
    dataset, preds = tool_data.load_test_predictions(args.config,
                                                     args.prediction_path,
                                                     args.cfg_options)
    matrix = calculate_confusion_matrix(dataset, preds, args.score_thr,
                                        args.tp_iou_thr)
    labels = tuple(dataset.metainfo['classes']) + ('background', )
    os.makedirs(args.out_dir, exist_ok=True)
    with open(osp.join(args.out_dir, 'confusion_matrix.json'), 'w') as f:
        json.dump(dict(labels=labels, counts=matrix.tolist()), f, indent=1)
    import matplotlib.pyplot as plt
    mmdet_plot_confusion_matrix()(
        matrix,
        labels,
        save_dir=None,
        show=False,
        color_theme=args.color_theme)
    # mmdet sizes the figure for COCO's 81 labels (0.5 inch each): give
    # small label sets room for the fixed-size fonts
    fig = plt.gcf()
    side = max(0.5 * len(labels), 6.0)
    fig.set_size_inches(side, side * 0.8)
    fig.tight_layout()
    fig.savefig(osp.join(args.out_dir, 'confusion_matrix.png'), format='png')
    if args.show:
        plt.show()
    plt.close(fig)
    print(f'Saved {osp.join(args.out_dir, "confusion_matrix.png")}')
    return matrix


if __name__ == '__main__':
    main()

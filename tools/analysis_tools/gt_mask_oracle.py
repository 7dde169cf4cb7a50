# Copyright (c) mmsolo contributors. All rights reserved.
"""Mask AP with the predicted masks replaced by ground truth (Table 7).

Runs the model on the config's test set and evaluates its predictions
twice with COCO's mask metrics: as predicted, and with every predicted mask
replaced by the ground-truth mask it overlaps most (highest IoU; the
scores, labels and number of predictions unchanged). The gap is what a
perfect mask branch would add to the category branch and the ranking.

- Ties: the first ground-truth instance of the image (annotation order).
- No overlap (IoU 0 with every ground-truth mask, or an image without
  ground truth): the prediction keeps its own mask.
- A ground-truth mask of any class may replace a prediction, and several
  predictions may take the same one (the duplicates then count as false
  positives, as before).

See :class:`mmsolo.evaluation.GTMaskOracleMetric`. The table (markdown) is
printed and, with ``--out``, written to a file.

Example::

    python tools/analysis_tools/gt_mask_oracle.py \\
        configs/quickstart/decoupled-solo-light_r18_fpn_shapes.py \\
        work_dirs/quickstart/epoch_21.pth --out oracle.md
"""
import argparse
import copy
import os.path as osp
import sys
import tempfile
from typing import Dict, Optional, Sequence

from mmengine.config import Config

try:  # version checks, registries
    import mmsolo  # noqa: F401
except ModuleNotFoundError as e:  # not installed: use this checkout
    if e.name != 'mmsolo':
        raise
    sys.path.insert(
        0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    import mmsolo  # noqa: F401

from mmsolo.utils.tool_config import (CFG_OPTIONS_HELP_BRIEF,
                                      add_cfg_options_arg, build_runner,
                                      load_tool_config)
from mmsolo.utils.tool_data import add_model_args

#: Column name -> key of mmdet's CocoMetric results.
METRICS = {
    'AP': 'segm_mAP',
    'AP50': 'segm_mAP_50',
    'AP75': 'segm_mAP_75',
    'APs': 'segm_mAP_s',
    'APm': 'segm_mAP_m',
    'APl': 'segm_mAP_l'
}


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description='COCO mask AP before and after replacing the predicted '
        'masks by the ground-truth masks they overlap most')
    add_model_args(parser, 'test config file path')
    parser.add_argument('--out', help='also write the table to this file')
    add_cfg_options_arg(parser, CFG_OPTIONS_HELP_BRIEF)
    return parser.parse_args(argv)


def with_gt_masks(pipeline: list) -> list:
    """The test pipeline, loading the ground-truth masks before packing.

    An existing ``LoadAnnotations`` is kept if it loads masks, else replaced
    by one that does, placed just before the last (packing) step.
    """
    pipeline = copy.deepcopy(list(pipeline))
    loads = [
        i for i, t in enumerate(pipeline)
        if t['type'].split('.')[-1] == 'LoadAnnotations'
    ]
    if loads and pipeline[loads[0]].get('with_mask', False):
        return pipeline
    for i in reversed(loads):
        pipeline.pop(i)
    pipeline.insert(
        len(pipeline) - 1,
        dict(type='mmdet.LoadAnnotations', with_bbox=True, with_mask=True))
    return pipeline


def oracle_config(cfg: Config, checkpoint: str, work_dir: str) -> Config:
    """The config with the two metrics as test evaluator."""
    cfg = copy.deepcopy(cfg)
    evaluator = cfg.test_evaluator
    if isinstance(evaluator, (list, tuple)):
        evaluator = evaluator[0]
    common = dict(
        ann_file=evaluator.get('ann_file'),
        metric='segm',
        format_only=False,
        backend_args=evaluator.get('backend_args'))
    cfg.test_evaluator = [
        dict(type='mmdet.CocoMetric', prefix='predicted', **common),
        dict(type='GTMaskOracleMetric', prefix='oracle', **common)
    ]
    dataset = cfg.test_dataloader.dataset
    while 'dataset' in dataset:  # dataset wrappers
        dataset = dataset.dataset
    dataset.pipeline = with_gt_masks(dataset.pipeline)
    cfg.load_from = checkpoint
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'
    return cfg


def run_oracle(cfg: Config, checkpoint: str) -> Dict[str, Dict[str, float]]:
    """Mask metrics of the predictions and of the oracle masks.

    Args:
        cfg (Config): The loaded config.
        checkpoint (str): The weights.

    Returns:
        dict: ``{'predicted': {...}, 'oracle': {...}}``, each with the keys
        of :data:`METRICS`.
    """
    from mmsolo.utils.denormal import apply_flush_denormal
    with tempfile.TemporaryDirectory(prefix='gt_mask_oracle_') as work_dir:
        cfg = oracle_config(cfg, checkpoint, work_dir)
        apply_flush_denormal(cfg)
        results = build_runner(cfg).test()
    return {
        row: {col: results[f'{row}/{key}']
              for col, key in METRICS.items()}
        for row in ('predicted', 'oracle')
    }


def _percent(value: float) -> str:
    """An AP in percent; ``-`` for COCO's -1 (no object of that size)."""
    return '-' if value < 0 else f'{100 * value:.1f}'


def table_markdown(rows: Dict[str, Dict[str, float]]) -> str:
    """The before/after table (markdown), AP in percent."""
    lines = [
        '| masks | ' + ' | '.join(METRICS) + ' |',
        '|---|' + '---:|' * len(METRICS)
    ]
    names = dict(predicted='predicted', oracle='ground truth (oracle)')
    for row, values in rows.items():
        lines.append(f'| {names[row]} | ' +
                     ' | '.join(_percent(values[c]) for c in METRICS) + ' |')
    return '\n'.join(lines) + '\n'


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, dict]:
    args = parse_args(argv)
    cfg = load_tool_config(args.config, args.cfg_options)
    rows = run_oracle(cfg, args.checkpoint)
    table = table_markdown(rows)
    print(f'\nmask AP (%) of {args.checkpoint}, predicted masks and the '
          'ground-truth masks they overlap most:\n')
    print(table)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(table)
        print(f'written to {args.out}')
    return rows


if __name__ == '__main__':
    main()

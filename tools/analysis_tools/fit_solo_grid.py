# Copyright (c) mmsolo contributors. All rights reserved.
"""Fit SOLO's input scale and grids to a config's train set.

Reads the config's training set, measures its instances after the config's
resize (scale = sqrt of the box area, which SOLO's level assignment uses;
instances per image; how often two centres fall into one grid cell) and
proposes the input scale and ``num_grids`` (:mod:`mmsolo.utils.grid_fit`);
the config's ``scale_ranges`` follow its levels' strides and are kept: the
input scale moves the instances into them. The input grows where the median
instance is less than 4 pixels wide in the first level's masks (to 6, at
most ``--max-cost`` times the time per iteration, estimated by the input's
pixels; default 2); it shrinks for large instances only with
``--min-factor`` below 1. Prints the old and new assignment side by side,
draws the scale distribution over the ranges (``--plot``, PNG) and, with
``--out``, writes a child config.

Example::

    python tools/analysis_tools/fit_solo_grid.py \\
        configs/quickstart/decoupled-solo-light_r18_fpn_shapes.py \\
        --out configs/quickstart/my_data.py --plot work_dirs/grid_fit.png
"""
import argparse
import copy
import math
import os
import os.path as osp
import sys
from typing import Optional

import numpy as np

try:
    import mmsolo  # noqa: F401
except ModuleNotFoundError as e:  # not installed: use this checkout
    if e.name != 'mmsolo':
        raise
    sys.path.insert(
        0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    import mmsolo  # noqa: F401

from mmsolo.utils import grid_fit
from mmsolo.utils.tool_config import add_cfg_options_arg, load_tool_config


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file')
    parser.add_argument('--out', help='write a child config here')
    parser.add_argument(
        '--plot',
        help='draw the scale distribution here (PNG; default: beside --out)')
    parser.add_argument(
        '--max-collisions',
        type=float,
        default=0.02,
        help='largest fraction of a level\'s instances sharing their centre '
        'cell with another instance (default 0.02)')
    parser.add_argument(
        '--max-cost',
        type=float,
        default=2.,
        help='largest time per training iteration of the proposal, relative '
        'to the config\'s, estimated by the input\'s pixels (default 2: an '
        'input up to 1.41 times as large for small instances; 1 keeps it)')
    parser.add_argument(
        '--min-factor',
        type=float,
        default=1.,
        help='let large instances (the smallest tenth above 48 px) shrink the '
        'input down to this factor, for less time per iteration (default 1: '
        'never; the shrunk inputs measured no gain, configs/quickstart/'
        'README.md)')
    parser.add_argument(
        '--no-rescale',
        action='store_true',
        help='keep the input scale (fit the grids only)')
    add_cfg_options_arg(parser, 'overrides')
    return parser.parse_args(argv)


def resize_step(pipeline) -> Optional[dict]:
    """The pipeline's Resize step, also inside a step with ``transforms``
    (such as ``CachedCompose``); None where there is none."""
    for step in pipeline:
        if str(step['type']).split('.')[-1] == 'Resize':
            return step
        inner = resize_step(step.get('transforms') or [])
        if inner is not None:
            return inner
    return None


def find_resize(pipeline) -> dict:
    """The pipeline's Resize step; exits where there is none."""
    step = resize_step(pipeline)
    if step is None:
        raise SystemExit('the pipeline has no Resize step to fit the scale of')
    return step


def rescaled(scale,
             factor: float,
             max_cost: float = math.inf,
             divisor: int = 32) -> tuple:
    """A Resize ``scale`` times ``factor``, rounded up to ``divisor``, or
    down where rounding up would cost more than ``max_cost`` (the pixels
    relative to ``scale``'s)."""
    up = tuple(math.ceil(s * factor / divisor) * divisor for s in scale)
    if up[0] * up[1] <= max_cost * scale[0] * scale[1]:
        return up
    return tuple(
        max(divisor,
            math.floor(s * factor / divisor) * divisor) for s in scale)


def rescaled_pipeline(pipeline, scale) -> list:
    """A copy of ``pipeline`` whose Resize scale is ``scale``."""
    pipeline = copy.deepcopy([dict(step) for step in pipeline])
    find_resize(pipeline)['scale'] = tuple(scale)
    return pipeline


def report(stats, ranges, grids, strides) -> list:
    """Rows: level, stride, range, share of instances, grid, collisions."""
    rows, total = [], max(len(stats['scales']), 1)
    levels = grid_fit.level_members(stats['scales'], ranges)
    for k, members in enumerate(levels):
        rate = grid_fit.collision_rate(stats, members, grids[k])
        rows.append((k, strides[k], f'{ranges[k][0]}-{ranges[k][1]}',
                     f'{100 * len(members) / total:.0f} %', grids[k],
                     f'{100 * rate:.1f} %'))
    return rows


def draw(stats, old, new, out_file: str) -> None:
    """Histograms of the instance scales at the config's and the proposed
    input scale, over the levels' ranges."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    scales = stats['scales']
    fig, axes = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    bins = np.geomspace(max(scales.min(), 1), scales.max() + 1, 40) \
        if len(scales) else 10
    for ax, (name, (ranges, scale_stats)) in zip(axes, (('config', old),
                                                        ('proposal', new))):
        ax.hist(scale_stats, bins=bins, color='0.5')
        for k, (lo, hi) in enumerate(ranges):
            ax.axvspan(
                max(lo, 1), hi, alpha=0.12, color=f'C{k}', label=f'level {k}')
        ax.set_xscale('log')
        ax.set_ylabel('instances')
        ax.set_title(f'{name}: scale ranges over sqrt(box area) after resize')
        ax.legend(fontsize=7, loc='upper right')
    axes[-1].set_xlabel('instance scale (pixels)')
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    fig.savefig(out_file, dpi=90)
    plt.close(fig)


def child_config(base: str, grids, pipelines: dict) -> str:
    """The text of a child config of ``base`` with the proposal."""
    lines = [
        '# Written by tools/analysis_tools/fit_solo_grid.py: grids and input',
        '# scale fitted to the training set.',
        f'_base_ = {osp.abspath(base)!r}', '',
        f'model = dict(mask_head=dict(num_grids={grids!r}))'
    ]
    for loader, pipeline in pipelines.items():
        lines.append(f'{loader} = dict(dataset=dict(pipeline={pipeline!r}))')
    return '\n'.join(lines) + '\n'


def main(argv=None) -> dict:
    args = parse_args(argv)
    cfg = load_tool_config(args.config, args.cfg_options)
    from mmsolo.registry import DATASETS, MODELS
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    resize = find_resize(cfg.train_dataloader.dataset.pipeline)
    stats = grid_fit.instance_stats(infos, resize['scale'],
                                    resize.get('keep_ratio', False))
    head = cfg.model.mask_head
    strides = list(head.strides)
    # kept: they follow the levels' strides (see the module docstring)
    ranges = [tuple(r) for r in head.scale_ranges]
    old_grids = list(head.num_grids)

    old_scale = tuple(resize['scale'])
    # the first level's mask stride: the mask-resolution term's unit
    mask_stride = float(MODELS.build(head).assigner.mask_strides[0])
    factor = 1. if args.no_rescale else grid_fit.propose_input_factor(
        stats['scales'],
        mask_stride,
        max_factor=math.sqrt(args.max_cost),
        min_factor=args.min_factor)
    new_scale = old_scale if factor == 1 else rescaled(old_scale, factor,
                                                       args.max_cost)
    # the factor the rounded scale gives, and its cost (the pixels)
    factor = min(n / o for n, o in zip(new_scale, old_scale))
    cost = (new_scale[0] * new_scale[1]) / (old_scale[0] * old_scale[1])
    new_stats = dict(
        stats, scales=stats['scales'] * factor, sizes=stats['sizes'] * factor)
    side = float(new_stats['sizes'].max()) if len(new_stats['sizes']) else 0
    max_grids = [max(4, int(side // s)) for s in strides]
    grids = grid_fit.propose_num_grids(new_stats, ranges, old_grids, max_grids,
                                       args.max_collisions)

    counts = stats['counts']
    print(
        f'{len(infos)} images, {len(stats["scales"])} instances '
        f'({counts.mean():.1f} per image, at most {counts.max()}); scale '
        f'after the config\'s resize: median {np.median(stats["scales"]):.1f}'
        f' px, 10-90 % {np.percentile(stats["scales"], 10):.1f}-'
        f'{np.percentile(stats["scales"], 90):.1f} px; the first level\'s '
        f'masks have stride {mask_stride:g}')
    header = '| level | stride | range | instances | grid | collisions |'
    for name, rows in (('config', report(stats, ranges, old_grids, strides)),
                       (f'proposal: input {new_scale} (x{factor:.2f}), '
                        f'~{cost:.2f}x the time per iteration',
                        report(new_stats, ranges, grids, strides))):
        print(f'\n{name}\n{header}\n|---|---|---|---|---|---|')
        for row in rows:
            print('| ' + ' | '.join(map(str, row)) + ' |')

    plot = args.plot or (osp.splitext(args.out)[0] +
                         '.png' if args.out else None)
    if plot:
        draw(stats, (ranges, stats['scales']), (ranges, new_stats['scales']),
             plot)
        print(f'\nscale distribution: {plot}')
    pipelines = {}
    if new_scale != old_scale:
        for loader in ('train_dataloader', 'val_dataloader',
                       'test_dataloader'):
            pipelines[loader] = rescaled_pipeline(cfg[loader].dataset.pipeline,
                                                  new_scale)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            f.write(child_config(args.config, grids, pipelines))
        print(f'child config: {args.out}')
    return dict(
        factor=factor,
        scale=new_scale,
        cost=cost,
        scale_ranges=ranges,
        num_grids=grids,
        stats=stats)


if __name__ == '__main__':
    main()

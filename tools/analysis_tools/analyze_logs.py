# Copyright (c) mmsolo contributors. All rights reserved.
"""Plot training curves and compute training time from mmengine's logs.

Reads ``vis_data/scalars.json`` (one JSON object per line, written by
mmengine's ``LocalVisBackend``): training lines carry ``loss``, ``lr``,
``time``, ``iter`` and, in epoch-based runs, ``epoch``; validation lines
carry the metrics (``coco/segm_mAP``, ...) and ``step`` (the epoch, or the
iteration in iteration-based runs). Each input is that file or a work dir
(the newest ``<timestamp>/vis_data/scalars.json`` under it is used).

Examples::

    python tools/analysis_tools/analyze_logs.py plot_curve \\
        work_dirs/quickstart --keys loss loss_mask coco/segm_mAP \\
        --out curves.png
    python tools/analysis_tools/analyze_logs.py cal_train_time \\
        work_dirs/quickstart
"""
import argparse
import glob
import json
import os
import os.path as osp
from collections import defaultdict
from typing import Dict, List, Optional, Sequence

import numpy as np


def find_scalars(path: str) -> str:
    """The ``scalars.json`` of a work dir (the newest run), or ``path``.

    Args:
        path (str): A ``scalars.json`` file, a run folder or a work dir.

    Returns:
        str: Path of the ``scalars.json``.
    """
    if osp.isfile(path):
        return path
    for pattern in ('vis_data/scalars.json', '*/vis_data/scalars.json'):
        found = sorted(glob.glob(osp.join(path, pattern)))
        if found:
            return found[-1]  # runs are named by their start timestamp
    raise FileNotFoundError(f'No vis_data/scalars.json in {path}')


def load_scalars(path: str) -> Dict[str, List[dict]]:
    """Split a ``scalars.json`` into training and validation records.

    Args:
        path (str): A ``scalars.json`` file, a run folder or a work dir.

    Returns:
        dict: ``train`` and ``val``: the records (dicts) in file order.
    """
    records = dict(train=[], val=[])
    with open(find_scalars(path)) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            record = json.loads(line)
            kind = 'train' if 'iter' in record or 'lr' in record else 'val'
            records[kind].append(record)
    return records


def curve(records: Dict[str, List[dict]], key: str) -> tuple:
    """The ``(x, y, x_label)`` of one logged key.

    Training keys are plotted against the iteration; validation keys
    against the epoch (``step`` of the validation records), or the
    iteration in iteration-based runs.

    Args:
        records (dict): What :func:`load_scalars` returns.
        key (str): A logged key.

    Returns:
        tuple: ``x`` and ``y`` (arrays), ``x_label`` (str).
    """
    for kind in ('train', 'val'):
        points = [(r['iter' if kind == 'train' else 'step'], r[key])
                  for r in records[kind] if key in r]
        if points:
            x, y = np.array(points, dtype=float).T
            by_epoch = any('epoch' in r for r in records['train'])
            label = 'epoch' if kind == 'val' and by_epoch else 'iter'
            return x, y, label
    raise KeyError(f'{key} is not in the log; logged keys: '
                   f'{sorted(logged_keys(records))}')


def logged_keys(records: Dict[str, List[dict]]) -> set:
    """Every key of a log's records."""
    return {k for kind in records.values() for r in kind for k in r}


def plot_curve(logs: List[Dict[str, List[dict]]], args) -> None:
    """Plot ``args.keys`` of every log, one panel per x-axis unit.

    Args:
        logs (list[dict]): Loaded logs (:func:`load_scalars`).
        args (argparse.Namespace): ``keys``, ``legend``, ``title``,
            ``out``, ``json_logs``.
    """
    import matplotlib
    if args.out:
        matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    legend = args.legend or [
        f'{osp.basename(osp.normpath(p))}_{k}' for p in args.json_logs
        for k in args.keys
    ]
    if len(legend) != len(logs) * len(args.keys):
        raise ValueError(f'--legend needs {len(logs) * len(args.keys)} '
                         f'names (logs x keys), got {len(legend)}')
    panels = defaultdict(list)  # x label -> [(x, y, name)]
    for i, records in enumerate(logs):
        for j, key in enumerate(args.keys):
            x, y, x_label = curve(records, key)
            panels[x_label].append((x, y, legend[i * len(args.keys) + j]))
    fig, axes = plt.subplots(
        1, len(panels), figsize=(6 * len(panels), 4), squeeze=False)
    # training curves (against iterations) first
    order = sorted(panels.items(), key=lambda item: item[0] != 'iter')
    for ax, (x_label, lines) in zip(axes[0], order):
        for x, y, name in lines:
            ax.plot(x, y, label=name, marker='o' if len(x) < 30 else None)
        ax.set_xlabel(x_label)
        ax.legend()
        ax.grid(alpha=0.3)
    if args.title:
        fig.suptitle(args.title)
    fig.tight_layout()
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        fig.savefig(args.out, dpi=100)
        print(f'save curve to: {args.out}')
    else:
        plt.show()
    plt.close(fig)


def train_time(records: Dict[str, List[dict]],
               include_outliers: bool = False) -> dict:
    """Seconds per iteration, overall and per epoch.

    Args:
        records (dict): What :func:`load_scalars` returns.
        include_outliers (bool): Keep the first logged iteration of each
            epoch (slow: data loader start-up), as mmdet's tool does.

    Returns:
        dict: ``mean`` (s/iter over all kept records), ``epochs`` (epoch ->
        mean s/iter; empty in iteration-based runs), ``slowest``,
        ``fastest`` (epochs or None) and ``std`` (over the epoch means).
    """
    per_epoch = defaultdict(list)
    for record in records['train']:
        if 'time' in record:
            per_epoch[record.get('epoch', 0)].append(record['time'])
    if not per_epoch:
        raise ValueError('No training iteration time ("time") in the log')
    if not include_outliers:
        per_epoch = {e: t[1:] or t for e, t in per_epoch.items()}
    all_times = [t for times in per_epoch.values() for t in times]
    means = {e: float(np.mean(t)) for e, t in sorted(per_epoch.items())}
    by_epoch = any('epoch' in r for r in records['train'])
    return dict(
        mean=float(np.mean(all_times)),
        epochs=means if by_epoch else {},
        slowest=max(means, key=means.get) if by_epoch else None,
        fastest=min(means, key=means.get) if by_epoch else None,
        std=float(np.std(list(means.values()))) if by_epoch else 0.0)


def cal_train_time(logs: List[Dict[str, List[dict]]], args) -> None:
    """Print the training time statistics of every log."""
    for path, records in zip(args.json_logs, logs):
        stats = train_time(records, args.include_outliers)
        print(f'{"-" * 5}Analyze train time of {find_scalars(path)}'
              f'{"-" * 5}')
        if stats['epochs']:
            slowest, fastest = stats['slowest'], stats['fastest']
            print(f'slowest epoch {slowest}, average time is '
                  f'{stats["epochs"][slowest]:.4f} s/iter')
            print(f'fastest epoch {fastest}, average time is '
                  f'{stats["epochs"][fastest]:.4f} s/iter')
            print(f'time std over epochs is {stats["std"]:.4f}')
        print(f'average iter time: {stats["mean"]:.4f} s/iter')
        print()


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description='Analyze training logs')
    subparsers = parser.add_subparsers(dest='task', required=True)
    plot = subparsers.add_parser(
        'plot_curve', help='plot logged values (loss, metrics) as curves')
    plot.add_argument(
        'json_logs',
        nargs='+',
        help='vis_data/scalars.json files or work dirs')
    plot.add_argument(
        '--keys',
        nargs='+',
        default=['loss'],
        help='the keys to plot, e.g. loss loss_mask coco/segm_mAP')
    plot.add_argument('--title', help='title of the figure')
    plot.add_argument(
        '--legend',
        nargs='+',
        help='legend of each curve (logs x keys; default: log_key)')
    plot.add_argument('--out', help='save the figure here (PNG)')
    timing = subparsers.add_parser(
        'cal_train_time', help='compute the time per training iteration')
    timing.add_argument(
        'json_logs',
        nargs='+',
        help='vis_data/scalars.json files or work dirs')
    timing.add_argument(
        '--include-outliers',
        action='store_true',
        help='keep the first iteration of each epoch')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Run the task named on the command line."""
    args = parse_args(argv)
    logs = [load_scalars(path) for path in args.json_logs]
    dict(
        plot_curve=plot_curve, cal_train_time=cal_train_time)[args.task](logs,
                                                                         args)


if __name__ == '__main__':
    main()

# Copyright (c) mmsolo contributors. All rights reserved.
"""mmsolo's main job: data -> training -> COCO evaluation -> pictures.

Run by ``bash tools/quickstart.sh`` (the README's first command) after the
environment is set up. On a fresh machine it

1. generates the "shapes" demo set under ``data/shapes`` (unless present);
2. trains the quick-start SOLO through ``tools/train.py``, for as many
   epochs as fit in ``--budget-min`` minutes on this machine (default 15;
   a short calibration run times it first), or for ``--epochs N``;
3. evaluates mask AP and box AP on the val split through ``tools/test.py``
   (mmdet's ``CocoMetric``);
4. draws the predictions on a few val images with ``demo/image_demo.py``
   and plots the loss / AP curves;

and ends by printing the AP, the CPU, the precision it trained in and the
time it took, and where the files are.
"""
import argparse
import glob
import json
import math
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Optional

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_CONFIG = osp.join('configs', 'quickstart',
                          'decoupled-solo-light_r18_fpn_shapes.py')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default=DEFAULT_CONFIG)
    parser.add_argument('--work-dir', default='work_dirs/quickstart')
    parser.add_argument('--data-root', default='data/shapes')
    parser.add_argument(
        '--num-train', type=int, default=2000, help='generated train images')
    parser.add_argument(
        '--num-val', type=int, default=100, help='generated val images')
    parser.add_argument(
        '--num-vis', type=int, default=8, help='val images to draw')
    parser.add_argument(
        '--keep-data',
        action='store_true',
        help='train on the COCO-format set in --data-root as it is '
        '(train.json, val.json, train/, val/) instead of generating shapes')
    schedule = parser.add_mutually_exclusive_group()
    schedule.add_argument(
        '--budget-min',
        type=float,
        default=15.0,
        help='wall-clock minutes for the whole job after set-up (data, '
        'training, evaluation, pictures): the epochs are chosen to fit on '
        'this machine (default: 15)')
    schedule.add_argument(
        '--epochs',
        type=int,
        help='train this many epochs instead (no time budget)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        help='passed to train.py; the test and the pictures use the config '
        'as trained (with these options); train_cfg.max_epochs=N here also '
        'fixes the schedule')
    return parser.parse_args()


#: training iterations and val images of the calibration run
CALIB_ITERS, CALIB_VAL = 30, 16


def load_config(args):
    """The config with the command line's ``--cfg-options``."""
    from mmengine.config import Config, DictAction
    cfg = Config.fromfile(osp.join(ROOT, args.config))
    if args.cfg_options:
        parser = argparse.ArgumentParser()
        parser.add_argument('--options', nargs='+', action=DictAction)
        cfg.merge_from_dict(
            parser.parse_args(['--options'] + args.cfg_options).options)
    return cfg


def low_fraction(cfg) -> float:
    """The share of the epochs that the config's ``ResolutionScheduleHook``
    trains at a lower resolution (0 without one)."""
    from mmsolo.engine.hooks import ResolutionScheduleHook
    from mmsolo.registry import HOOKS
    for h in cfg.get('custom_hooks', []):
        cls = HOOKS.get(h['type']) if isinstance(h['type'], str) else h['type']
        if isinstance(cls, type) and issubclass(cls, ResolutionScheduleHook):
            return HOOKS.build(dict(h)).low_fraction
    return 0.


def calibrate(args, cfg, work_dir: str, data_opts: list):
    """Time a few training iterations and a small validation of ``cfg``
    (and as many at the lower resolution of a resolution schedule).

    Returns:
        Calibration: The timings.
    """
    from mmsolo.utils.time_budget import read_calibration
    batch = cfg.train_dataloader.batch_size
    images = min(CALIB_ITERS * batch, args.num_train)
    val_images = min(CALIB_VAL, args.num_val)
    calib_dir = osp.join(work_dir, 'calibration')
    config, epochs = args.config, 1
    if low_fraction(cfg):
        # one epoch at the lower resolution, one at the config's
        config, epochs = child_config(
            args.config, work_dir, 'calibration_',
            with_hooks(cfg,
                       {'ResolutionScheduleHook': dict(low_fraction=0.5)})), 2
    start = time.time()
    run([
        sys.executable, 'tools/train.py', config, '--work-dir', calib_dir,
        '--cfg-options'
    ] + data_opts + args.cfg_options + [
        f'train_cfg.max_epochs={epochs}', f'train_cfg.val_interval={epochs}',
        f'{dataset_key(cfg, "train_dataloader")}.indices={images}',
        f'{dataset_key(cfg, "val_dataloader")}.indices={val_images}',
        'default_hooks.logger.interval=10', 'log_processor.window_size=10'
    ])
    calib = read_calibration(
        latest_json(osp.join(calib_dir, '*', 'vis_data', 'scalars.json')),
        time.time() - start, epochs * math.ceil(images / batch), val_images,
        cfg.val_dataloader.batch_size)
    return calib


def run(cmd):
    print('\n[quickstart] $ ' + ' '.join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT)


def latest_json(pattern):
    files = sorted(glob.glob(pattern), key=osp.getmtime)
    return files[-1] if files else None


def read_scalars(path):
    rows = []
    if path and osp.isfile(path):
        with open(path) as f:
            rows = [json.loads(line) for line in f if line.strip()]
    return rows


def plot_curves(train_rows, out_file):
    """Loss per iteration and val AP per epoch, side by side."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    loss_rows = [r for r in train_rows if 'loss' in r]
    ap_rows = [r for r in train_rows if 'coco/segm_mAP' in r]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for key in ('loss', 'loss_mask', 'loss_cls'):
        ax1.plot([r['iter'] for r in loss_rows], [r[key] for r in loss_rows],
                 label=key)
    ax1.set_xlabel('iteration')
    ax1.set_title('training loss')
    ax1.legend()
    for key, name in (('coco/segm_mAP', 'mask AP'), ('coco/bbox_mAP',
                                                     'box AP')):
        ax2.plot([r.get('step', r.get('epoch')) for r in ap_rows],
                 [r.get(key, float('nan')) for r in ap_rows],
                 marker='o',
                 label=name)
    ax2.set_xlabel('epoch')
    ax2.set_ylim(0, 1)
    ax2.set_title('val AP')
    ax2.legend()
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)


def dataset_key(cfg, loader: str) -> str:
    """The ``--cfg-options`` key of a loader's dataset that reads the files:
    inside dataset wrappers (``MultiImageMixDataset`` for ``CopyPaste``)."""
    key, dataset = f'{loader}.dataset', cfg[loader].dataset
    while 'dataset' in dataset and 'ann_file' not in dataset:
        key, dataset = f'{key}.dataset', dataset.dataset
    return key


def data_options(cfg, data_root: str) -> list:
    """``--cfg-options`` that point a config's loaders and evaluators at
    ``data_root`` (an evaluator may be a list of metrics: each one with an
    ``ann_file`` gets it)."""
    opts = [
        f'{dataset_key(cfg, loader)}.data_root={data_root}/'
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    ]
    for name in ('val_evaluator', 'test_evaluator'):
        evaluator = cfg.get(name)
        is_list = isinstance(evaluator, (list, tuple))
        for i, metric in enumerate(evaluator if is_list else [evaluator]):
            if isinstance(metric, dict) and 'ann_file' in metric:
                key = f'{name}.{i}' if is_list else name
                opts.append(f'{key}.ann_file={data_root}/val.json')
    return opts


def count_images(data_root: str):
    """The numbers of train and val images of a COCO-format set."""
    counts = []
    for split in ('train', 'val'):
        ann = osp.join(data_root, f'{split}.json')
        if not osp.isfile(ann):
            raise SystemExit(f'[quickstart] --keep-data: {ann} is missing')
        with open(ann) as f:
            counts.append(len(json.load(f)['images']))
    return tuple(counts)


def checkpoint_epoch(checkpoint: str) -> int:
    """The epoch a checkpoint was saved at (its ``meta``)."""
    from mmengine.runner import CheckpointLoader  # mmsolo's safe loading
    ckpt = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    return int(ckpt['meta']['epoch'])


def link_latest(checkpoint: str) -> str:
    """``latest.pth`` beside ``checkpoint``, a link to it: the name the docs
    use, whichever epoch the time budget ended training at."""
    latest = osp.join(osp.dirname(checkpoint), 'latest.pth')
    if osp.lexists(latest):  # a link, even a broken one, or a file
        os.remove(latest)
    os.symlink(osp.basename(checkpoint), latest)
    return latest


def with_hooks(cfg, changes: Optional[dict] = None, added: tuple = ()) -> list:
    """The config's custom hooks as dicts, changed where ``changes`` names
    their type (``{type: {argument: value}}``), and ``added`` after them."""
    hooks = []
    for h in cfg.get('custom_hooks', []):
        h = h.to_dict() if hasattr(h, 'to_dict') else dict(h)
        h.update((changes or {}).get(str(h.get('type')).split('.')[-1], {}))
        hooks.append(h)
    return hooks + list(added)


def child_config(config: str, work_dir: str, prefix: str, hooks: list) -> str:
    """A child config of ``config`` with these custom hooks.

    Returns:
        str: Its path (in ``work_dir``).
    """
    path = osp.join(work_dir, prefix + osp.basename(config))
    with open(path, 'w') as f:
        f.write(f'_base_ = [{osp.join(ROOT, config)!r}]\n'
                f'custom_hooks = {hooks!r}\n')
    return path


def main():
    args = parse_args()
    start = time.time()
    py = sys.executable
    work_dir = osp.join(ROOT, args.work_dir)
    data_root = osp.join(ROOT, args.data_root)
    os.makedirs(work_dir, exist_ok=True)

    # 1. data
    sys.path.insert(0, ROOT)
    from mmsolo.datasets.shapes import ensure_shapes_dataset
    print(f'[quickstart] data: {data_root}', flush=True)
    if args.keep_data:
        args.num_train, args.num_val = count_images(data_root)
    elif osp.isfile(osp.join(data_root, 'train.json')) and not osp.isfile(
            osp.join(data_root, 'shapes_meta.json')):
        raise SystemExit(
            f'[quickstart] {data_root} holds a dataset that the shapes '
            'generator did not write: nothing is overwritten. Train on it '
            'with --keep-data, or give another --data-root.')
    else:
        ensure_shapes_dataset(
            data_root, num_train=args.num_train, num_val=args.num_val)
    cfg = load_config(args)
    data_opts = data_options(cfg, data_root)

    # 2. train: the schedule given, or as long as the budget allows
    from mmsolo.utils.time_budget import (after_training_s, describe_cpu,
                                          low_resolution_epochs, plan_epochs,
                                          precision_used)
    fixed = any(
        o.startswith('train_cfg.max_epochs=') for o in args.cfg_options)
    schedule, config = [], args.config
    budget = None if args.epochs or fixed else args.budget_min * 60
    if args.epochs:
        schedule = [f'train_cfg.max_epochs={args.epochs}']
    elif budget is not None:
        calib = calibrate(args, cfg, work_dir, data_opts)
        batch = cfg.train_dataloader.batch_size
        # kept free for the machine's changing speed: TimeBudgetHook
        # re-plans after every epoch, so only the last one's can surprise
        margin = 0.025
        fraction = low_fraction(cfg)
        epochs = plan_epochs(
            budget,
            time.time() - start,
            calib,
            math.ceil(args.num_train / batch),
            args.num_val,
            args.num_vis,
            margin,
            low_fraction=fraction)
        low_s = '' if calib.low_iter_s is None else \
            f' ({calib.low_iter_s:.3f} at the lower resolution)'
        print(
            f'[quickstart] calibration: {calib.iter_s:.3f} s per training '
            f'iteration{low_s}, {calib.val_image_s:.3f} s per val image, '
            f'{calib.overhead_s:.0f} s per tool start; {epochs} epochs fit '
            f'in the {args.budget_min:g} min budget',
            flush=True)
        # half-way, or the first epoch at full resolution (a model trained
        # at a lower one is tested at the config's only after an epoch of it)
        low = low_resolution_epochs(fraction, epochs)
        half = low + 1 if low else max(1, math.ceil(epochs / 2))
        schedule = [
            f'train_cfg.max_epochs={epochs}', f'train_cfg.val_interval={half}',
            f'default_hooks.checkpoint.interval={epochs}'
        ]
        # should this machine turn out slower than calibrated, training is
        # shortened (and its schedule with it) to end in time; faster, and
        # it is lengthened (a calibration of 30 iterations is off by up to
        # 15 % either way)
        config = child_config(
            args.config, work_dir, 'budget_',
            with_hooks(
                cfg,
                added=[
                    dict(
                        type='TimeBudgetHook',
                        deadline=start + budget * (1 - margin),
                        reserve_s=after_training_s(calib, args.num_val,
                                                   args.num_vis),
                        max_epochs=2 * epochs)
                ]))
    train_start = time.time()
    run([
        py, 'tools/train.py', config, '--work-dir', work_dir, '--cfg-options'
    ] + data_opts + args.cfg_options + schedule)
    train_time = time.time() - train_start
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    latest = link_latest(checkpoint)
    # The config as trained, --cfg-options applied (the runner dumps it into
    # the work dir): the test and the pictures must build the same model.
    trained_config = osp.join(work_dir, osp.basename(config))
    if not osp.isfile(trained_config):
        raise SystemExit(f'[quickstart] {trained_config} is missing: '
                         'tools/train.py did not finish writing the work dir')

    # 3. evaluate
    test_dir = osp.join(work_dir, 'test')
    run([
        py, 'tools/test.py', trained_config, checkpoint, '--work-dir',
        test_dir, '--out',
        osp.join(test_dir, 'results.pkl'), '--cfg-options'
    ] + data_opts)
    test_json = latest_json(osp.join(test_dir, '*', '*.json'))
    metrics = read_scalars(test_json)[-1] if test_json else {}

    # 4. pictures and curves
    with open(osp.join(data_root, 'val.json')) as f:
        val = json.load(f)
    vis_inputs = osp.join(work_dir, 'vis_inputs')
    os.makedirs(vis_inputs, exist_ok=True)
    for img in val['images'][:args.num_vis]:
        src = osp.join(data_root, 'val', img['file_name'])
        dst = osp.join(vis_inputs, img['file_name'])
        if not osp.exists(dst):
            os.symlink(src, dst)
    vis_dir = osp.join(work_dir, 'predictions')
    run([
        py, 'demo/image_demo.py', vis_inputs, trained_config, '--weights',
        checkpoint, '--out-dir', vis_dir, '--device', 'cpu'
    ])
    train_scalars = latest_json(
        osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    curves = osp.join(work_dir, 'curves.png')
    plot_curves(read_scalars(train_scalars), curves)

    total = time.time() - start
    others = {
        k: v
        for k, v in metrics.items()
        if not k.startswith('coco/') and k not in ('time', 'data_time')
    }
    if others:  # e.g. a contour model's boundary F-score
        print('[quickstart] ' + ', '.join(f'{k} {v:.3f}'
                                          for k, v in others.items()))
    elif 'coco/segm_mAP' not in metrics:
        print('[quickstart] the model predicted no instance above the '
              'score threshold: AP is 0 (train longer)')
    segm = metrics.get('coco/segm_mAP', 0.)
    bbox = metrics.get('coco/bbox_mAP', 0.)
    from mmengine.config import Config
    trained = Config.fromfile(trained_config)
    # the epochs trained (TimeBudgetHook may have ended training early)
    epochs = checkpoint_epoch(checkpoint)
    precision = precision_used(trained.optim_wrapper.get('type', ''))
    summary = dict(
        cpu=describe_cpu(),
        precision=precision,
        epochs=epochs,
        budget_seconds=budget,
        mask_AP=segm,
        box_AP=bbox,
        mask_AP50=metrics.get('coco/segm_mAP_50'),
        other_metrics=others,
        train_seconds=round(train_time, 1),
        total_seconds=round(total, 1),
        checkpoint=checkpoint,
        predictions=osp.join(vis_dir, 'vis'),
        curves=curves)
    with open(osp.join(work_dir, 'quickstart_summary.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    print('\n' + '=' * 70)
    aps = [
        f'{name} AP {metrics[key]:.3f}'
        for name, key in (('mask', 'coco/segm_mAP'),
                          ('box', 'coco/bbox_mAP')) if key in metrics
    ] or ['mask AP 0.000']
    print(f'[quickstart] {" | ".join(aps)} on {len(val["images"])} val '
          'images')
    within = '' if budget is None else (
        f' of a {budget / 60:g} min budget' +
        ('' if total <= budget else ' (OVER BUDGET)'))
    print(f'[quickstart] training {train_time / 60:.1f} min '
          f'({epochs} epochs), total '
          f'{total / 60:.1f} min{within} (set-up excluded)')
    print(f'[quickstart] CPU: {describe_cpu()}; trained in {precision}')
    print(f'[quickstart] checkpoint:  {latest} -> {osp.basename(checkpoint)}')
    print(f'[quickstart] pictures:    {osp.join(vis_dir, "vis")}/*.png')
    print(f'[quickstart] predictions: {osp.join(vis_dir, "preds")}/*.json')
    print(f'[quickstart] curves:      {curves}')
    print(f'[quickstart] metrics:     {test_json}')
    print('=' * 70)


if __name__ == '__main__':
    main()

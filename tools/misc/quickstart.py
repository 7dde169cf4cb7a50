# Copyright (c) mmsolo contributors. All rights reserved.
"""mmsolo's main job: data -> training -> COCO evaluation -> pictures.

Run by ``bash tools/quickstart.sh`` (the README's first command) after the
environment is set up. On a fresh machine it

1. generates the "shapes" demo set under ``data/shapes`` (unless present);
2. trains the quick-start SOLO through ``tools/train.py``;
3. evaluates mask AP and box AP on the val split through ``tools/test.py``
   (mmdet's ``CocoMetric``);
4. draws the predictions on a few val images with ``demo/image_demo.py``
   and plots the loss / AP curves;

and ends by printing the AP and where the files are.
"""
import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time

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
        '--cfg-options',
        nargs='+',
        default=[],
        help='passed to train.py; the test and the pictures use the config '
        'as trained (with these options)')
    return parser.parse_args()


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
    gen_args = dict(num_train=args.num_train, num_val=args.num_val)
    print(f'[quickstart] data: {data_root}', flush=True)
    ensure_shapes_dataset(data_root, **gen_args)
    data_opts = [
        f'train_dataloader.dataset.data_root={data_root}/',
        f'val_dataloader.dataset.data_root={data_root}/',
        f'test_dataloader.dataset.data_root={data_root}/',
        f'val_evaluator.ann_file={data_root}/val.json',
        f'test_evaluator.ann_file={data_root}/val.json',
    ]

    # 2. train
    train_start = time.time()
    run([
        py, 'tools/train.py', args.config, '--work-dir', work_dir,
        '--cfg-options'
    ] + data_opts + args.cfg_options)
    train_time = time.time() - train_start
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    # The config as trained, --cfg-options applied (the runner dumps it into
    # the work dir): the test and the pictures must build the same model.
    trained_config = osp.join(work_dir, osp.basename(args.config))
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
    if 'coco/segm_mAP' not in metrics:
        print('[quickstart] the model predicted no instance above the '
              'score threshold: AP is 0 (train longer)')
    segm = metrics.get('coco/segm_mAP', 0.)
    bbox = metrics.get('coco/bbox_mAP', 0.)
    summary = dict(
        mask_AP=segm,
        box_AP=bbox,
        mask_AP50=metrics.get('coco/segm_mAP_50'),
        train_seconds=round(train_time, 1),
        total_seconds=round(total, 1),
        checkpoint=checkpoint,
        predictions=osp.join(vis_dir, 'vis'),
        curves=curves)
    with open(osp.join(work_dir, 'quickstart_summary.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    print('\n' + '=' * 70)
    print(f'[quickstart] mask AP {segm:.3f} | box AP {bbox:.3f} on '
          f'{len(val["images"])} val images')
    print(f'[quickstart] training {train_time / 60:.1f} min, total '
          f'{total / 60:.1f} min (set-up excluded)')
    print(f'[quickstart] checkpoint:  {checkpoint}')
    print(f'[quickstart] pictures:    {osp.join(vis_dir, "vis")}/*.png')
    print(f'[quickstart] predictions: {osp.join(vis_dir, "preds")}/*.json')
    print(f'[quickstart] curves:      {curves}')
    print(f'[quickstart] metrics:     {test_json}')
    print('=' * 70)


if __name__ == '__main__':
    main()

# Copyright (c) mmsolo contributors. All rights reserved.
"""Compare detectors side by side: size, speed, memory and accuracy.

Takes mmsolo configs and configs of other OpenMMLab packages in one run
(``mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py``, ``mmdet::solo/...``)
and prints one markdown table:

- ``params (M)`` and ``FLOPs (G)``: mmengine's complexity analysis of
  ``forward(mode='tensor')`` on a ``--shape`` input (as ``get_flops.py``);
- ``latency (ms)``: median of ``--repeats`` calls of ``model.test_step``
  (data pre-processing, forward, post-processing, masks pasted at the image
  size) on the same generated ``--shape`` image, after ``--warmup`` calls;
- ``peak memory (MB)``: what one ``test_step`` adds at its peak to the
  memory the loaded model already holds (CPU: resident set size high-water
  mark, reset before the call; CUDA: ``max_memory_allocated``);
- with ``--checkpoints`` and ``--data``: ``mask AP`` and ``box AP``
  (COCO, IoU 0.50:0.95) of every model on the same COCO-format val set,
  through each config's own test pipeline (mmengine's ``Runner.test``).

Without ``--checkpoints`` the weights are random (no pretrained download):
latencies then reflect untrained post-processing (few or many candidates
depending on the head's prior), so compare trained checkpoints when the
post-processing matters.

Example::

    python tools/analysis_tools/compare_models.py \\
        configs/quickstart/decoupled-solo-light_r18_fpn_shapes.py \\
        work_dirs/mask_rcnn_shapes/mask-rcnn_r18_fpn_shapes.py \\
        --checkpoints work_dirs/quickstart/epoch_21.pth \\
                      work_dirs/mask_rcnn_shapes/epoch_12.pth \\
        --data data/shapes --shape 512 512 --out compare.md
"""
import argparse
import copy
import os.path as osp
import statistics
import sys
import tempfile
import time
from typing import List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config

from mmsolo.utils.tool_config import add_cfg_options_arg

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import benchmark as bench  # noqa: E402  (machine info, synthetic images)
import benchmark_vs_mmdet as vs  # noqa: E402  (PeakMemory)
import get_flops  # noqa: E402  (config loading, model building, FLOPs)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description='Compare detectors: params, FLOPs, latency, memory, AP')
    parser.add_argument(
        'configs',
        nargs='+',
        help='config files or package::path configs (mmdet::...)')
    parser.add_argument(
        '--checkpoints',
        nargs='+',
        help='one checkpoint per config (default: random weights)')
    parser.add_argument(
        '--names', nargs='+', help='row names (default: config names)')
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        default=[800, 1333],
        help='input image size for FLOPs, latency and memory: H W, or one '
        'number for a square (default: 800 1333)')
    parser.add_argument(
        '--data',
        help='root of a COCO-format val set: mask AP and box AP of every '
        'model (needs --checkpoints)')
    parser.add_argument(
        '--ann-file',
        default='val.json',
        help='annotation file under --data (default: val.json)')
    parser.add_argument(
        '--img-prefix',
        default='val/',
        help='image folder under --data (default: val/)')
    parser.add_argument(
        '--warmup', type=int, default=3, help='untimed calls first')
    parser.add_argument('--repeats', type=int, default=10, help='timed calls')
    parser.add_argument('--device', default='cpu', help='cpu or cuda')
    parser.add_argument(
        '--threads', type=int, help='torch.set_num_threads (CPU)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', help='also write the table as markdown')
    add_cfg_options_arg(parser, 'overrides applied to every config, xxx=yyy')
    args = parser.parse_args(argv)
    if args.checkpoints and len(args.checkpoints) != len(args.configs):
        parser.error('--checkpoints needs one checkpoint per config')
    if args.names and len(args.names) != len(args.configs):
        parser.error('--names needs one name per config')
    if args.data and not args.checkpoints:
        parser.error('--data needs --checkpoints (AP of random weights '
                     'means nothing)')
    return args


def timing_image(shape: tuple, seed: int) -> torch.Tensor:
    """The generated (3, H, W) uint8 BGR image every model is timed on."""
    rng = np.random.default_rng(seed)
    img = bench.synthetic_image(rng, shape[0], shape[1], num_objects=5)[0]
    return torch.from_numpy(img).permute(2, 0, 1).contiguous()


def measure_predict(model: torch.nn.Module, batch: dict, warmup: int,
                    repeats: int, device: str) -> dict:
    """Median latency and peak memory of ``model.test_step(batch)``.

    Args:
        model (nn.Module): The detector, in eval mode.
        batch (dict): A data batch (:func:`get_flops.make_batch`).
        warmup (int): Untimed calls first.
        repeats (int): Timed calls.
        device (str): ``'cpu'`` or ``'cuda'``.

    Returns:
        dict: ``latency_ms`` (median), ``peak_mb`` (memory added at the
        peak of one call), ``peak_exact`` (False where the kernel refused
        to reset the CPU high-water mark: then the process's lifetime peak
        was used) and ``detections`` (of the last call).
    """
    peak = vs.PeakMemory(device)
    with torch.no_grad():
        for _ in range(warmup):
            model.test_step(copy.deepcopy(batch))
        peak.start()
        model.test_step(copy.deepcopy(batch))
        top, base = peak.stop()
        times = []
        for _ in range(repeats):
            data = copy.deepcopy(batch)
            t0 = time.perf_counter()
            results = model.test_step(data)
            bench.synchronize(device)
            times.append(time.perf_counter() - t0)
    return dict(
        latency_ms=1e3 * statistics.median(times),
        peak_mb=max(top - base, 0) / 2**20,
        peak_exact=peak.exact,
        detections=len(results[0].pred_instances))


def evaluate(cfg: Config, checkpoint: str, args, index: int) -> dict:
    """Mask AP and box AP of a checkpoint on the ``--data`` val set.

    The config's test dataloader and evaluator are pointed at the data
    (its pipeline, classes and metric type are kept) and mmengine's
    ``Runner.test`` runs them.

    Args:
        cfg (Config): The model's config.
        checkpoint (str): Its weights.
        args (argparse.Namespace): ``data``, ``ann_file``, ``img_prefix``.
        index (int): Row index (keeps runner instance names unique).

    Returns:
        dict: ``mask_ap`` and ``box_ap``.
    """
    from mmengine.runner import Runner
    cfg = copy.deepcopy(cfg)
    dataset = cfg.test_dataloader.dataset
    while 'dataset' in dataset:  # dataset wrappers
        dataset = dataset.dataset
    dataset.data_root = args.data
    dataset.ann_file = args.ann_file
    dataset.data_prefix = dict(img=args.img_prefix)
    evaluator = cfg.test_evaluator
    if isinstance(evaluator, (list, tuple)):
        evaluator = evaluator[0]
        cfg.test_evaluator = evaluator
    evaluator.ann_file = osp.join(args.data, args.ann_file)
    evaluator.metric = ['bbox', 'segm']
    evaluator.format_only = False
    evaluator.pop('outfile_prefix', None)
    cfg.load_from = checkpoint
    # mmengine keeps one visualizer per name: each runner gets its own
    cfg.experiment_name = f'compare_models_{index}_{time.time_ns()}'
    if cfg.get('visualizer') is not None:
        cfg.visualizer.name = cfg.experiment_name
    cfg.log_level = 'WARNING'
    cfg.launcher = 'none'
    get_flops.drop_pretrained(cfg.model)
    with tempfile.TemporaryDirectory(prefix='compare_models_') as work_dir:
        cfg.work_dir = work_dir
        metrics = Runner.from_cfg(cfg).test()
    return dict(
        mask_ap=metrics.get('coco/segm_mAP'),
        box_ap=metrics.get('coco/bbox_mAP'))


def compare_one(config: str, checkpoint: Optional[str], args,
                index: int) -> dict:
    """Every number of one row of the table."""
    shape = get_flops.image_shape(args.shape)
    cfg = get_flops.load_any_config(config, args.cfg_options)
    model = get_flops.build_detector(cfg, checkpoint, args.device)
    info = get_flops.get_complexity(model, shape)
    batch = get_flops.make_batch(shape, timing_image(shape, args.seed))
    row = dict(
        params_m=info['params'] / 1e6,
        flops_g=info['flops'] / 1e9,
        input_shape=info['input_shape'])
    row.update(
        measure_predict(model, batch, args.warmup, args.repeats, args.device))
    del model
    if args.data:
        row.update(evaluate(cfg, checkpoint, args, index))
    return row


def _fmt(value, digits: int) -> str:
    return '-' if value is None else f'{value:.{digits}f}'


def table_markdown(names: List[str], rows: List[dict], with_ap: bool) -> str:
    """The comparison as a markdown table."""
    header = [
        'model', 'params (M)', 'FLOPs (G)', 'latency (ms)', 'peak memory (MB)',
        'detections'
    ]
    if with_ap:
        header += ['mask AP', 'box AP']
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for name, row in zip(names, rows):
        cells = [
            name,
            _fmt(row['params_m'], 2),
            _fmt(row['flops_g'], 2),
            _fmt(row['latency_ms'], 1),
            _fmt(row['peak_mb'], 1) + ('' if row['peak_exact'] else '*'),
            str(row['detections'])
        ]
        if with_ap:
            cells += [_fmt(row.get('mask_ap'), 3), _fmt(row.get('box_ap'), 3)]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def main(argv: Optional[Sequence[str]] = None) -> List[dict]:
    """Measure every config and print the table.

    Args:
        argv (Sequence[str], optional): Command line.

    Returns:
        list[dict]: One row per config (``params_m``, ``flops_g``,
        ``latency_ms``, ``peak_mb``, ``detections`` and, with ``--data``,
        ``mask_ap`` and ``box_ap``).
    """
    from mmengine.logging import MMLogger
    from mmengine.utils import ProgressBar
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    MMLogger.get_current_instance().setLevel('ERROR')  # unsupported ops
    names = args.names or [
        osp.splitext(osp.basename(c.split('::')[-1]))[0] for c in args.configs
    ]
    checkpoints = args.checkpoints or [None] * len(args.configs)
    rows = []
    progress = ProgressBar(len(args.configs))
    for i, (config, checkpoint) in enumerate(zip(args.configs, checkpoints)):
        torch.manual_seed(args.seed)
        rows.append(compare_one(config, checkpoint, args, i))
        progress.update()
    print()
    shape = get_flops.image_shape(args.shape)
    inputs = ', '.join(
        sorted({f'{r["input_shape"][0]}x{r["input_shape"][1]}'
                for r in rows}))
    weights = 'checkpoints' if args.checkpoints else 'random weights'
    text = '\n\n'.join([
        table_markdown(names, rows, bool(args.data)),
        f'Image {shape[0]}x{shape[1]} (network input {inputs} after '
        f'padding), batch 1, {weights}; latency: median of {args.repeats} '
        f'`test_step` calls after {args.warmup} warm-up calls; peak memory: '
        'added by one `test_step` at its peak' +
        ('' if all(r['peak_exact'] for r in rows) else
         ' (*: from the process\'s lifetime peak, an upper bound: the '
         'kernel refused to reset the high-water mark)') +
        (f'; AP on `{osp.join(args.data, args.ann_file)}`'
         if args.data else '') + '.',
        bench.info_markdown(
            bench.machine_info(args.device, torch.get_num_threads()))
    ])
    bench.print_and_save(text, args.out)
    return rows


if __name__ == '__main__':
    main()

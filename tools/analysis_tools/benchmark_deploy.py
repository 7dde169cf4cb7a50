# Copyright (c) mmsolo contributors. All rights reserved.
"""Latency and peak memory of a SOLO model in PyTorch, ONNX Runtime and
OpenVINO, side by side in one run, on the same images, outputs checked.

For each config: the model (checkpoint, or random weights whose output
convs are spread so that there are candidates) is exported with
``tools/deployment/export_onnx.py``'s code (dynamic input size) and the same
generated images, resized by the config's test pipeline, are run by every
backend, each in a fresh process of its own:

- ``pytorch``: ``data_preprocessor`` + ``model.predict(rescale=False)``, the
  config's model as users get it (its ``channels_last`` setting);
- ``onnxruntime`` / ``openvino``: the exported file through
  ``demo/onnx_demo.py``'s loader, in a process that never imports torch.

The timed work is the same in all three: uint8 image in, normalisation,
padding, network, post-processing, masks at the input size and boxes out.
Latency is the median over the timed images after the warm-up; memory is
the process's peak resident set size (``VmHWM``) and that peak above
the resident size after the imports (what the model and its run add). The
outputs of each runtime are compared with PyTorch's
(:func:`mmsolo.deployment.compare_instances`).

Example::

    python tools/analysis_tools/benchmark_deploy.py \\
        configs/solo/solo_r50_fpn_3x_coco.py \\
        configs/solo/decoupled-solo_r50_fpn_3x_coco.py --cls-bias -5.5 \\
        --out work_dirs/benchmark_deploy.md
"""
import argparse
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))
BACKENDS = ('pytorch', 'onnxruntime', 'openvino', 'openvino-bf16')
#: run by default: the backends whose outputs should equal PyTorch's
DEFAULT_BACKENDS = BACKENDS[:3]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='SOLO latency and memory: PyTorch vs ONNX runtimes')
    parser.add_argument('configs', nargs='+', help='config files')
    parser.add_argument(
        '--checkpoints',
        nargs='+',
        help='one checkpoint per config, "none" for random weights '
        '(default: random weights for all)')
    parser.add_argument(
        '--backends',
        nargs='+',
        default=list(DEFAULT_BACKENDS),
        choices=BACKENDS,
        help='openvino-bf16: OpenVINO computing in bfloat16 where the CPU '
        'has it (faster; outputs differ a little)')
    parser.add_argument(
        '--num-images', type=int, default=10, help='timed images')
    parser.add_argument(
        '--warmup', type=int, default=2, help='untimed images first')
    parser.add_argument(
        '--ori-size',
        type=int,
        nargs=2,
        default=[480, 640],
        metavar=('H', 'W'),
        help='size of the generated images before the test pipeline')
    parser.add_argument(
        '--cls-bias',
        type=float,
        help='with random weights: the category conv\'s bias (how many '
        'candidates)')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--quick',
        action='store_true',
        help='smoke test: the tiny ResNet-18 model of benchmark.py --quick, '
        '1 + 2 images')
    parser.add_argument(
        '--static',
        action='store_true',
        help='export static graphs at the images\' network input size '
        '(the generated images all have one size)')
    parser.add_argument('--out', help='also write the table as markdown')
    parser.add_argument('--worker', choices=BACKENDS, help=argparse.SUPPRESS)
    parser.add_argument('--task', help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# ---------------------------------------------------------------------------
# worker: one backend in a fresh process
def peak_rss() -> int:
    """Peak resident set size of this process, bytes.

    ``VmHWM`` of ``/proc/self/status``: the high-water mark of this
    process's own memory. (``ru_maxrss`` would also count the parent's
    resident size at the fork that started this process.)
    """
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) * 1024
    raise OSError('no VmHWM in /proc/self/status')


def current_rss() -> int:
    """Resident set size of this process now, bytes."""
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


def pytorch_runner(task: dict):
    """``run(image)`` with mmsolo's PyTorch model."""
    import torch
    from mmdet.structures import DetDataSample
    torch.set_num_threads(task['threads'])
    sys.path.insert(0, HERE)
    import benchmark as bench

    from mmsolo.utils.tool_config import load_tool_config
    cfg = load_tool_config(task['config'])
    args = argparse.Namespace(
        quick=task['quick'],
        checkpoint=task['weights'],
        seed=0,
        cls_bias=None,
        device='cpu')
    model = bench.build_model(cfg, args)

    def run(image: np.ndarray) -> dict:
        h, w = image.shape[1:3]
        sample = DetDataSample(
            metainfo=dict(
                img_shape=(h, w), ori_shape=(h, w), scale_factor=(1., 1.)))
        with torch.no_grad():
            data = model.data_preprocessor(
                dict(
                    inputs=[torch.from_numpy(image[0]).permute(2, 0, 1)],
                    data_samples=[sample]), False)
            pred = model.predict(
                data['inputs'], data['data_samples'],
                rescale=False)[0].pred_instances
        return dict(
            masks=pred.masks.numpy().astype(np.uint8),
            labels=pred.labels.numpy(),
            scores=pred.scores.numpy(),
            boxes=pred.bboxes.numpy())

    return run


def runtime_runner(task: dict, backend: str):
    """``run(image)`` with the exported file, as deployed (no torch)."""
    sys.path.insert(0, osp.join(ROOT, 'demo'))
    from onnx_demo import load_model
    runtime, _, precision = backend.partition('-')
    return load_model(task['onnx'], runtime, task['threads'], precision
                      or 'f32')


def worker(backend: str, task_file: str) -> None:
    """Time one backend on the task's images; write outputs and figures."""
    with open(task_file) as f:
        task = json.load(f)
    images = np.load(task['images'])
    images = [images[k] for k in sorted(images.files, key=int)]
    base = current_rss()
    run = pytorch_runner(task) if backend == 'pytorch' else runtime_runner(
        task, backend)
    times, outputs, counts = [], {}, []
    for i, image in enumerate(images):
        start = time.perf_counter()
        out = run(image)
        if i >= task['warmup']:
            times.append(time.perf_counter() - start)
            counts.append(len(out['scores']))
        for key, value in out.items():
            outputs[f'{i}_{key}'] = value
    np.savez(osp.join(task['dir'], f'{backend}.npz'), **outputs)
    with open(osp.join(task['dir'], f'{backend}.json'), 'w') as f:
        json.dump(
            dict(
                median_ms=1e3 * statistics.median(times),
                instances=statistics.mean(counts),
                peak_mib=peak_rss() / 2**20,
                added_mib=(peak_rss() - base) / 2**20,
                imports_torch='torch' in sys.modules), f)


# ---------------------------------------------------------------------------
# parent: prepare, run the workers, compare
def prepare(config: str, checkpoint, args, tmp: str) -> dict:
    """Weights, the exported file and the images of one config."""
    import torch
    sys.path.insert(0, HERE)
    import benchmark as bench

    from mmsolo.deployment import export_onnx
    from mmsolo.utils.tool_config import load_tool_config
    cfg = load_tool_config(config)
    model = bench.build_model(
        cfg,
        argparse.Namespace(
            quick=args.quick,
            checkpoint=checkpoint,
            seed=args.seed,
            cls_bias=None if checkpoint else args.cls_bias,
            device='cpu'))
    weights = osp.join(tmp, 'weights.pth')
    torch.save(dict(state_dict=model.state_dict()), weights)
    pipeline = bench.build_pipeline(cfg, False, args.quick)
    rng = np.random.default_rng(args.seed)
    h, w = (64, 96) if args.quick else args.ori_size
    images = {}
    for i in range(args.warmup + args.num_images):
        img = bench.synthetic_image(rng, h, w, 5)[0]
        packed = pipeline(dict(img=img, img_id=0))
        images[str(i)] = np.ascontiguousarray(packed['inputs'].permute(
            1, 2, 0).numpy()[None])
    np.savez(osp.join(tmp, 'images.npz'), **images)
    onnx_file = osp.join(tmp, 'model.onnx')
    model.channels_last = False
    export_onnx(
        model.float(),
        cfg,
        onnx_file,
        images['0'].shape[1:3],
        dynamic=not args.static)
    return dict(
        config=config,
        weights=weights,
        onnx=onnx_file,
        images=osp.join(tmp, 'images.npz'),
        input_shape=list(images['0'].shape[1:3]),
        dir=tmp,
        warmup=args.warmup,
        threads=args.threads,
        quick=args.quick)


def check_outputs(tmp: str, backend: str, num: int) -> str:
    """'yes' when the backend's outputs equal PyTorch's on every image."""
    from mmsolo.deployment import compare_instances
    ref, out = (
        np.load(osp.join(tmp, f'{b}.npz')) for b in ('pytorch', backend))
    problems, instances = [], 0
    for i in range(num):
        get = (
            lambda d:
            {k: d[f'{i}_{k}']
             for k in ('masks', 'labels', 'scores', 'boxes')})
        instances += len(ref[f'{i}_scores'])
        problems += compare_instances(get(ref), get(out))
    return 'yes' if not problems else f'NO ({problems[0]})'


def main(argv=None) -> list:
    args = parse_args(argv)
    if args.worker:
        return worker(args.worker, args.task)
    import mmsolo  # noqa: F401
    if args.quick:
        args.num_images, args.warmup = 2, 1
    sys.path.insert(0, HERE)
    import benchmark as bench
    checkpoints = [
        None if c in (None, 'none') else c
        for c in (args.checkpoints or [None] * len(args.configs))
    ]
    if len(checkpoints) != len(args.configs):
        raise SystemExit('--checkpoints: one per config ("none": random)')
    rows = []
    for config, checkpoint in zip(args.configs, checkpoints):
        with tempfile.TemporaryDirectory() as tmp:
            task = prepare(config, checkpoint, args, tmp)
            task_file = osp.join(tmp, 'task.json')
            with open(task_file, 'w') as f:
                json.dump(task, f)
            figures = {}
            for backend in args.backends:
                print(
                    f'[benchmark_deploy] {osp.basename(config)}: '
                    f'{backend}',
                    flush=True)
                subprocess.run([
                    sys.executable,
                    osp.abspath(__file__), config, '--worker', backend,
                    '--task', task_file
                ],
                               check=True)
                with open(osp.join(tmp, f'{backend}.json')) as f:
                    figures[backend] = json.load(f)
            num = args.warmup + args.num_images
            for backend in args.backends:
                fig = figures[backend]
                same = '(reference)' if backend == 'pytorch' else (
                    check_outputs(tmp, backend, num)
                    if 'pytorch' in figures else 'not checked')
                ratio = fig['median_ms'] / figures['pytorch']['median_ms'] \
                    if 'pytorch' in figures else float('nan')
                rows.append(
                    dict(
                        config=osp.basename(config),
                        input='x'.join(map(str, task['input_shape'])),
                        backend=backend,
                        ratio=ratio,
                        same=same,
                        **fig))
    lines = [
        '| config | input | backend | median latency (ms) | x PyTorch | '
        'peak RSS (MiB) | peak above imports (MiB) | instances per image | '
        'outputs = PyTorch |', '|---|---|---|---|---|---|---|---|---|'
    ]
    lines += [
        f'| {r["config"]} | {r["input"]} | {r["backend"]} | '
        f'{r["median_ms"]:.1f} | {r["ratio"]:.2f} | {r["peak_mib"]:.0f} | '
        f'{r["added_mib"]:.0f} | {r["instances"]:.1f} | {r["same"]} |'
        for r in rows
    ]
    info = bench.machine_info('cpu', args.threads)
    import onnxruntime
    import openvino
    info.update(
        onnxruntime=onnxruntime.__version__,
        openvino=openvino.__version__.split('-')[0])
    text = '\n'.join(lines) + '\n\n' + bench.info_markdown(info)
    bench.print_and_save(text, args.out)
    return rows


if __name__ == '__main__':
    main()

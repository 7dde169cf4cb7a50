# Copyright (c) mmsolo contributors. All rights reserved.
"""Export a SOLO model to one self-contained ONNX file, and verify it.

The graph takes a uint8 image (1, H, W, 3, channels as loaded: BGR for
OpenCV) resized as the config's test pipeline resizes it, and returns the
instances: ``masks`` (K, H, W) uint8, ``labels`` (K,), ``scores`` (K,) and
``boxes`` (K, 4). Normalisation, padding, the network, the post-processing
(Matrix NMS included) and the boxes are inside; see docs/deployment.md.

Examples::

    # any input size (a multiple of nothing: the graph pads itself)
    python tools/deployment/export_onnx.py \\
        configs/quickstart/decoupled-solo-light_r18_fpn_shapes.py \\
        work_dirs/quickstart/epoch_21.pth --out solo.onnx --dynamic \\
        --verify data/shapes/val/000000.jpg data/shapes/val/000001.jpg
    # a fixed input size, without the config's test-time flips
    python tools/deployment/export_onnx.py CONFIG CKPT --out solo.onnx \\
        --shape 800 1344 --cfg-options model.test_cfg.tta_flips=[]
"""
import argparse
import os
import os.path as osp
import sys
import time

try:  # first: version checks and safe checkpoint loading
    import mmsolo  # noqa: F401
except ModuleNotFoundError as e:  # not installed: use this checkout
    if e.name != 'mmsolo':
        raise
    sys.path.insert(
        0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    import mmsolo  # noqa: F401

from mmengine.config import ConfigDict, DictAction

from mmsolo.deployment import (DEFAULT_OPSET, RUNTIMES, ExportError,
                               export_onnx, read_metadata, test_resize,
                               verify_onnx)
from mmsolo.utils.tool_config import load_tool_config

DEMO_IMAGE = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'demo',
    'demo.jpg')


def parse_args() -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description='Export a SOLO model to ONNX (post-processing inside)')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', required=True, help='the .onnx file')
    parser.add_argument(
        '--shape',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        help='input size of a static graph (and the example traced with '
        '--dynamic); default: the test pipeline\'s resize scale')
    parser.add_argument(
        '--dynamic',
        action='store_true',
        help='one file for any input height and width')
    parser.add_argument(
        '--opset', type=int, default=DEFAULT_OPSET, help='ONNX opset')
    parser.add_argument(
        '--tta',
        action='store_true',
        help='average the head outputs of the image and its flips inside '
        'the graph (model.test_cfg.tta_flips; horizontal unless the config '
        'names flips), as tools/test.py --tta')
    parser.add_argument(
        '--verify',
        nargs='*',
        metavar='IMAGE',
        help='compare the file with PyTorch on these images (default: '
        'demo/demo.jpg) in onnxruntime and OpenVINO; exit 1 if they differ')
    parser.add_argument(
        '--runtimes',
        nargs='+',
        default=list(RUNTIMES),
        choices=RUNTIMES,
        help='runtimes to verify in')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. '
        'model.test_cfg.score_thr=0.2')
    return parser.parse_args()


def export_shape(cfg, shape) -> tuple:
    """(H, W) of the traced example: ``--shape`` or the test scale."""
    if shape:
        return tuple(shape)
    scale = test_resize(cfg)['scale']
    if scale is None:
        raise SystemExit('The test pipeline has no Resize: give --shape H W')
    return (min(scale), max(scale)) if test_resize(cfg)['keep_ratio'] \
        else (scale[1], scale[0])


def static_pipeline(cfg, shape) -> None:
    """Make the test pipeline resize to the static input size exactly."""
    for step in cfg.test_dataloader.dataset.pipeline:
        if str(step['type']).split('.')[-1] == 'Resize':
            step['scale'] = (shape[1], shape[0])
            step['keep_ratio'] = False


def main() -> int:
    args = parse_args()
    from mmdet.apis import init_detector
    cfg = load_tool_config(args.config, args.cfg_options)
    # the same math in NCHW; the file holds no memory format
    cfg.model.channels_last = False
    if args.tta:  # as tools/test.py --tta (the detector's test_cfg)
        test_cfg = cfg.model.get('test_cfg') or ConfigDict()
        if not test_cfg.get('tta_flips'):
            test_cfg.tta_flips = ['horizontal']
        cfg.model.test_cfg = test_cfg
    model = init_detector(cfg, args.checkpoint, device='cpu')
    shape = export_shape(cfg, args.shape)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    start = time.perf_counter()
    try:
        export_onnx(
            model,
            cfg,
            args.out,
            shape,
            dynamic=args.dynamic,
            opset=args.opset,
            config_name=osp.basename(args.config))
    except ExportError as e:
        print(f'Cannot export {args.config}: {e}', file=sys.stderr)
        return 2
    meta = read_metadata(args.out)
    size = osp.getsize(args.out) / 2**20
    print(f'Wrote {args.out} ({size:.1f} MiB, opset {args.opset}, '
          f'{time.perf_counter() - start:.1f} s): input image uint8 '
          f'(1, {"H, W" if args.dynamic else "%d, %d" % shape}, 3) '
          f'{meta["channel_order"].upper()}; outputs masks, labels, scores, '
          f'boxes; {len(meta["classes"])} classes; test-time flips: '
          f'{meta["test_cfg"].get("tta_flips") or "none"}')
    if args.verify is None:
        return 0
    if not args.dynamic:
        static_pipeline(cfg, shape)
    images = args.verify or [DEMO_IMAGE]
    rows = verify_onnx(model, cfg, args.out, images, args.runtimes)
    failed = 0
    for row in rows:
        status = 'OK' if not row['problems'] else 'DIFFERS'
        failed += bool(row['problems'])
        print(f'{status:8s}{row["runtime"]:12s}{osp.basename(row["image"])} '
              f'input {row["shape"][0]}x{row["shape"][1]}: '
              f'{row["instances"]} instances')
        for problem in row['problems'][:10]:
            print(f'        {problem}')
    print(f'Verified against PyTorch: {len(rows) - failed} of {len(rows)} '
          'runs equal (same instances and labels, scores within 1e-3, mask '
          'IoU >= 0.99, boxes within 1 pixel)')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())

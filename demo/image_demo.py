# Copyright (c) mmsolo contributors. All rights reserved.
"""Run a trained mmsolo model on images and save pictures and predictions.

Example::

    python demo/image_demo.py demo/demo.jpg \\
        configs/quickstart/decoupled-solo-light_r18_fpn_shapes.py \\
        --weights work_dirs/quickstart/latest.pth --out-dir outputs/demo

``INPUTS`` is an image file or a folder of images. For each image it writes
``OUT_DIR/vis/<name>.png`` (masks, labels and scores drawn by mmdet's
``DetLocalVisualizer``) and ``OUT_DIR/preds/<name>.json`` (``labels``,
``scores``, ``bboxes`` as xyxy and ``masks`` as COCO RLE). It is built on
mmdet's ``DetInferencer`` with ``scope='mmsolo'``.

An image that cannot be read (missing, empty, corrupt) is skipped with a
warning and the others are processed; the exit status is then 1.
"""
import logging
import os
import os.path as osp
import sys
from argparse import ArgumentParser

import mmcv
from mmengine.config import Config, DictAction
from mmengine.logging import print_log

from mmsolo.datasets.coco import unreadable_reason

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif',
                  '.tiff', '.webp')


def parse_args():
    parser = ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('inputs', help='an image file or a folder of images')
    parser.add_argument('model', help='config file of the model')
    parser.add_argument('--weights', required=True, help='checkpoint file')
    parser.add_argument(
        '--out-dir', default='outputs', help='where to write the results')
    parser.add_argument(
        '--device', default='cpu', help='device, e.g. cpu or cuda:0')
    parser.add_argument(
        '--pred-score-thr',
        type=float,
        default=0.3,
        help='draw instances scoring at least this')
    parser.add_argument(
        '--batch-size', type=int, default=1, help='inference batch size')
    parser.add_argument(
        '--show', action='store_true', help='also show the pictures')
    parser.add_argument(
        '--print-result', action='store_true', help='print the results')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, e.g. '
        'model.test_cfg.score_thr=0.2')
    return parser.parse_args()


def list_images(inputs: str) -> list:
    """The image files named by ``inputs`` (a file or a folder)."""
    if osp.isdir(inputs):
        files = sorted(
            osp.join(inputs, f) for f in os.listdir(inputs)
            if f.lower().endswith(IMG_EXTENSIONS))
        if not files:
            raise FileNotFoundError(f'No images found in {inputs}')
        return files
    if not osp.isfile(inputs):
        raise FileNotFoundError(f'{inputs} does not exist')
    return [inputs]


def load_config(args) -> Config:
    """The model config with ``--cfg-options``, without the visualizer's
    storage backends: this script writes the pictures itself (a
    ``LocalVisBackend`` without ``save_dir`` makes mmengine warn, and with
    one it would write every picture a second time)."""
    cfg = Config.fromfile(args.model)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if cfg.get('visualizer') is not None:
        cfg.visualizer.vis_backends = []
    return cfg


def predict(inferencer, images: list, args) -> list:
    """Run the inferencer on ``images`` and write the pictures.

    Returns:
        list: ``(path, reason)`` of the images that could not be read.
    """
    vis_dir = osp.join(args.out_dir, 'vis')
    os.makedirs(vis_dir, exist_ok=True)
    kwargs = dict(
        return_vis=True,
        show=args.show,
        no_save_vis=True,
        no_save_pred=False,
        pred_score_thr=args.pred_score_thr,
        print_result=args.print_result,
        out_dir=args.out_dir)
    failed = []
    for start in range(0, len(images), args.batch_size):
        chunk = images[start:start + args.batch_size]
        try:
            results = inferencer(chunk, batch_size=len(chunk), **kwargs)
        except Exception:  # noqa: B902
            bad = [(p, unreadable_reason(p)) for p in chunk]
            bad = [(p, r) for p, r in bad if r is not None]
            if not bad:
                raise  # not an unreadable image: a real error
            for path, reason in bad:
                print_log(
                    f'Skipped {path}: {reason}',
                    logger='current',
                    level=logging.WARNING)
            failed += bad
            chunk = [p for p in chunk if p not in dict(bad)]
            if not chunk:
                continue
            results = inferencer(chunk, batch_size=len(chunk), **kwargs)
        for img_path, vis in zip(chunk, results['visualization']):
            name = osp.splitext(osp.basename(img_path))[0] + '.png'
            mmcv.imwrite(mmcv.rgb2bgr(vis), osp.join(vis_dir, name))
    return failed


def main():
    args = parse_args()
    from mmdet.apis import DetInferencer

    import mmsolo  # noqa: F401  (safe checkpoint loading, registries)

    images = list_images(args.inputs)
    inferencer = DetInferencer(
        model=load_config(args),
        weights=args.weights,
        device=args.device,
        scope='mmsolo',
        show_progress=True)
    failed = predict(inferencer, images, args)
    done = len(images) - len(failed)
    print_log(
        f'Wrote {done} pictures to {osp.join(args.out_dir, "vis")} and '
        f'predictions to {osp.join(args.out_dir, "preds")}',
        logger='current')
    if failed:
        sys.exit(f'{len(failed)} of {len(images)} images could not be read: ' +
                 ', '.join(p for p, _ in failed))


if __name__ == '__main__':
    main()

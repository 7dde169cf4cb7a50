# Copyright (c) mmsolo contributors. All rights reserved.
"""Run a trained mmsolo model on images and save pictures and predictions.

Example::

    python demo/image_demo.py demo/demo.jpg \\
        configs/quickstart/decoupled-solo-light_r18_fpn_shapes.py \\
        --weights work_dirs/quickstart/epoch_21.pth --out-dir outputs/demo

``INPUTS`` is an image file or a folder of images. For each image it writes
``OUT_DIR/vis/<name>.png`` (masks, labels and scores drawn by mmdet's
``DetLocalVisualizer``) and ``OUT_DIR/preds/<name>.json`` (``labels``,
``scores``, ``bboxes`` as xyxy and ``masks`` as COCO RLE). It is built on
mmdet's ``DetInferencer`` with ``scope='mmsolo'``.
"""
import os
import os.path as osp
from argparse import ArgumentParser

import mmcv
from mmengine.logging import print_log

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


def main():
    args = parse_args()
    from mmdet.apis import DetInferencer

    import mmsolo  # noqa: F401  (safe checkpoint loading, registries)

    images = list_images(args.inputs)
    inferencer = DetInferencer(
        model=args.model,
        weights=args.weights,
        device=args.device,
        scope='mmsolo',
        show_progress=True)
    results = inferencer(
        images,
        batch_size=args.batch_size,
        return_vis=True,
        show=args.show,
        no_save_vis=True,
        no_save_pred=False,
        pred_score_thr=args.pred_score_thr,
        print_result=args.print_result,
        out_dir=args.out_dir)
    vis_dir = osp.join(args.out_dir, 'vis')
    os.makedirs(vis_dir, exist_ok=True)
    for img_path, vis in zip(images, results['visualization']):
        name = osp.splitext(osp.basename(img_path))[0] + '.png'
        mmcv.imwrite(mmcv.rgb2bgr(vis), osp.join(vis_dir, name))
    print_log(
        f'Wrote {len(images)} pictures to {vis_dir} and predictions to '
        f'{osp.join(args.out_dir, "preds")}',
        logger='current')


if __name__ == '__main__':
    main()

# Copyright (c) mmsolo contributors. All rights reserved.
"""Per-image mask AP of saved predictions; draw the best and worst images.

Reads the predictions that ``tools/test.py CONFIG CKPT --out PRED.pkl``
dumps (masks as RLE) and the ground truth of the config's test set, scores
every image with COCO's mask AP (IoU 0.50:0.95, all areas, 100 detections;
pycocotools restricted to that image) and writes:

- ``OUT_DIR/per_image_mask_ap.json``: ``[{img_id, img_path, mask_ap,
  num_gts, num_preds}]``, best first;
- ``OUT_DIR/good/`` and ``OUT_DIR/bad/``: the ``--topk`` best and worst
  images as PNG, ground truth (left) and predictions (right) side by side,
  named ``<image name>_<mask AP>.png``.

An image without ground truth scores 1.0 when it has no prediction and 0.0
otherwise.

Example::

    python tools/test.py CONFIG CKPT --out work_dirs/pred.pkl
    python tools/analysis_tools/analyze_results.py CONFIG \\
        work_dirs/pred.pkl --out-dir work_dirs/analysis --topk 20
"""
import argparse
import contextlib
import io
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.utils import ProgressBar

import mmsolo  # noqa: F401  (version checks, registries)
from mmsolo.utils import tool_config, tool_data


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = tool_data.prediction_parser(
        'Per-image mask AP; the best and worst images as PNG',
        out_dir_help='where to write the results')
    parser.add_argument(
        '--topk',
        type=int,
        default=20,
        help='number of best and of worst images to draw')
    parser.add_argument(
        '--show-score-thr',
        type=float,
        default=0.3,
        help='draw predictions scoring at least this')
    tool_config.add_cfg_options_arg(parser, tool_config.CFG_OPTIONS_HELP_BRIEF)
    return parser.parse_args(argv)


def per_image_mask_ap(dataset, preds: Dict[int, dict]) -> List[dict]:
    """COCO mask AP of every image of ``dataset``.

    Args:
        dataset (CocoDataset): The test dataset (its ``ann_file`` holds the
            COCO ground truth; labels map to its ``cat_ids``).
        preds (dict[int, dict]): What
            :func:`mmsolo.utils.tool_data.load_predictions` returns.

    Returns:
        list[dict]: Per image, in dataset order: ``img_id``, ``img_path``,
        ``mask_ap``, ``num_gts``, ``num_preds``.
    """
    from mmdet.datasets.api_wrappers import COCO, COCOeval
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO(dataset.ann_file)
    results = []
    for img_id, pred in preds.items():
        for label, score, rle in zip(pred['labels'], pred['scores'],
                                     pred['masks']):
            rle = dict(rle)
            if isinstance(rle['counts'], bytes):
                rle['counts'] = rle['counts'].decode()
            results.append(
                dict(
                    image_id=img_id,
                    category_id=dataset.cat_ids[label],
                    segmentation=rle,
                    score=float(score)))
    coco_dt = None
    if results:
        with contextlib.redirect_stdout(io.StringIO()):
            coco_dt = coco_gt.loadRes(results)
    out = []
    progress = ProgressBar(len(dataset))
    for idx in range(len(dataset)):
        info = dataset.get_data_info(idx)
        img_id = info['img_id']
        pred = preds.get(img_id)
        num_preds = 0 if pred is None else len(pred['scores'])
        num_gts = len(tool_data.ground_truth(info)['labels'])
        if num_gts == 0 or num_preds == 0:
            ap = float(num_gts == 0 and num_preds == 0)
        else:
            coco_eval = COCOeval(coco_gt, coco_dt, 'segm')
            coco_eval.params.imgIds = [img_id]
            coco_eval.params.catIds = list(dataset.cat_ids)
            with contextlib.redirect_stdout(io.StringIO()):
                coco_eval.evaluate()
                coco_eval.accumulate()
            # all areas, 100 detections (COCO's AP)
            precision = coco_eval.eval['precision'][:, :, :, 0, -1]
            valid = precision[precision > -1]
            ap = float(valid.mean()) if valid.size else 0.0
        out.append(
            dict(
                img_id=img_id,
                img_path=info['img_path'],
                mask_ap=ap,
                num_gts=num_gts,
                num_preds=num_preds))
        progress.update()
    print()
    return out


def draw_image(visualizer, dataset, index: int, pred: Optional[dict],
               out_file: str, score_thr: float) -> None:
    """Ground truth and predictions of one image, side by side, as PNG."""
    import mmcv
    import torch
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    from pycocotools import mask as mask_utils
    info = dataset.get_data_info(index)
    height, width = info['height'], info['width']
    image = mmcv.imread(info['img_path'], channel_order='rgb')

    def instances(data: dict, with_scores: bool) -> InstanceData:
        masks = mask_utils.decode(data['masks']) if data['masks'] else \
            np.zeros((height, width, 0), dtype=np.uint8)
        fields = dict(
            bboxes=torch.as_tensor(data['bboxes']),
            labels=torch.as_tensor(data['labels']),
            masks=torch.as_tensor(masks.transpose(2, 0, 1).astype(bool)))
        if with_scores:
            fields['scores'] = torch.as_tensor(data['scores'])
        return InstanceData(**fields)

    sample = DetDataSample()
    sample.gt_instances = instances(tool_data.ground_truth(info), False)
    if pred is None:
        pred = dict(
            bboxes=np.zeros((0, 4), np.float32),
            labels=np.zeros(0, np.int64),
            scores=np.zeros(0, np.float32),
            masks=[])
    sample.pred_instances = instances(pred, True)
    visualizer.add_datasample(
        osp.basename(out_file),
        image,
        sample,
        draw_gt=True,
        draw_pred=True,
        show=False,
        pred_score_thr=score_thr,
        out_file=out_file)


def main(argv: Optional[Sequence[str]] = None) -> List[dict]:
    """Score every image; draw the ``--topk`` best and worst.

    Args:
        argv (Sequence[str], optional): Command line.

    Returns:
        list[dict]: The per-image scores, best first.
    """
    from mmdet.visualization import DetLocalVisualizer
    args = parse_args(argv)
    dataset, preds = tool_data.load_test_predictions(args.config,
                                                     args.prediction_path,
                                                     args.cfg_options)
    scores = per_image_mask_ap(dataset, preds)
    index = {s['img_id']: i for i, s in enumerate(scores)}
    ranked = sorted(scores, key=lambda s: -s['mask_ap'])
    os.makedirs(args.out_dir, exist_ok=True)
    with open(osp.join(args.out_dir, 'per_image_mask_ap.json'), 'w') as f:
        json.dump(ranked, f, indent=1)
    visualizer = DetLocalVisualizer(name='mmsolo_analyze_results')
    visualizer.dataset_meta = dataset.metainfo
    topk = min(args.topk, len(ranked))
    groups = dict(good=ranked[:topk], bad=ranked[::-1][:topk])
    progress = ProgressBar(2 * topk)
    for folder, chosen in groups.items():
        for score in chosen:
            name = osp.splitext(osp.basename(score['img_path']))[0]
            out_file = osp.join(args.out_dir, folder,
                                f'{name}_{score["mask_ap"]:.3f}.png')
            draw_image(visualizer, dataset, index[score['img_id']],
                       preds.get(score['img_id']), out_file,
                       args.show_score_thr)
            progress.update()
    print()
    mean_ap = float(np.mean([s['mask_ap'] for s in scores]))
    print(f'{len(scores)} images, mean per-image mask AP {mean_ap:.3f}; '
          f'the {topk} best and worst drawn in {args.out_dir}')
    return ranked


if __name__ == '__main__':
    main()

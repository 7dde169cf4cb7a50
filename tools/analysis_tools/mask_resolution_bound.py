# Copyright (c) mmsolo contributors. All rights reserved.
"""The mask AP that a SOLO config's mask resolution allows at best.

Every ground-truth instance of a COCO-format annotation file is put through
what the config's head does to a mask, with a perfect network: resized to
the network input (the test pipeline's ``Resize``), assigned to the levels
whose scale range holds its size, brought to that level's mask resolution
(``stride / mask_upsample``; binary as the reference implementations'
targets, or as area fractions with ``soft_mask_targets``), up-sampled back
(bilinear) and thresholded at ``mask_thr``. COCO mask AP of these masks,
each with score 1, is the upper bound that the resolution leaves.

Example::

    python tools/analysis_tools/mask_resolution_bound.py \\
        configs/quickstart/decoupled-solo-light_r18_fpn_shapes.py \\
        data/shapes/val.json
"""
import argparse
import contextlib
import copy
import io

import numpy as np
import torch
from mmcv import rescale_size
from mmengine.registry import init_default_scope
from mmengine.utils import ProgressBar
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from mmsolo.models.layers.traceable import resize_stack
from mmsolo.models.task_modules import rescale_masks
from mmsolo.registry import MODELS
from mmsolo.utils.tool_config import add_cfg_options_arg, load_tool_config

METRICS = ('AP', 'AP50', 'AP75', 'AP_s', 'AP_m', 'AP_l')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='a SOLO config')
    parser.add_argument('ann_file', help='COCO-format instances json')
    add_cfg_options_arg(parser, 'override config settings (key=value)')
    return parser.parse_args()


def input_scale(cfg, height: int, width: int) -> float:
    """Scale factor of the test pipeline's Resize for an image."""
    for step in cfg.test_dataloader.dataset.pipeline:
        if step['type'].split('.')[-1] == 'Resize':
            if not step.get('keep_ratio', False):
                raise ValueError('only keep_ratio=True resizes are supported')
            _, scale = rescale_size((width, height),
                                    tuple(step['scale']),
                                    return_scale=True)
            return scale
    return 1.


def best_mask(mask: np.ndarray, scale: float, assigner, soft: bool,
              mask_thr: float):
    """The best mask the head's resolution allows, and its IoU.

    The mask goes through the model's own code: the assigner's levels and
    mask strides, its target rescaling (:func:`rescale_masks`), and the
    post-processing's bilinear up-sampling (:func:`resize_stack`).
    """
    h, w = mask.shape
    gt = torch.from_numpy(mask).float()[None]
    size = (int(h * scale + 0.5), int(w * scale + 0.5))
    net = resize_stack(gt, size=size) >= 0.5
    ys, xs = torch.nonzero(net[0], as_tuple=True)
    if len(ys) == 0:
        return None
    side = float(((ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1))**.5)
    best = None
    for (lower, upper), stride in zip(assigner.scale_ranges,
                                      assigner.mask_strides):
        if not lower <= side <= upper:
            continue
        low = rescale_masks(net, stride, soft).float()
        small = low.shape[-2:]
        back = resize_stack(
            low, size=(int(small[0] * stride), int(small[1] * stride)))
        back = resize_stack(back, size=(h, w))[0]
        pred = (back > mask_thr).numpy()
        iou = (pred & mask.astype(bool)).sum() / max(
            (pred | mask.astype(bool)).sum(), 1)
        if best is None or iou > best[1]:
            best = (pred, iou)
    return best


def build_assigner(cfg, soft: bool):
    """The grid assigner of the config's head (built by the head)."""
    head_cfg = copy.deepcopy(cfg.model.mask_head)
    head_cfg.soft_mask_targets = soft
    head_cfg.train_cfg = cfg.model.get('train_cfg')
    init_default_scope(cfg.get('default_scope', 'mmsolo'))
    return MODELS.build(head_cfg).assigner


def bound(coco: COCO, cfg, soft: bool) -> dict:
    assigner = build_assigner(cfg, soft)
    mask_thr = cfg.model.get('test_cfg', {}).get('mask_thr', 0.5)
    results, ious = [], []
    img_ids = coco.getImgIds()
    progress = ProgressBar(len(img_ids))
    for img_id in img_ids:
        info = coco.loadImgs(img_id)[0]
        scale = input_scale(cfg, info['height'], info['width'])
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=img_id)):
            best = best_mask(
                coco.annToMask(ann),
                scale,
                assigner,
                soft=soft,
                mask_thr=mask_thr)
            if best is None:
                continue
            rle = mask_utils.encode(np.asfortranarray(best[0], np.uint8))
            rle['counts'] = rle['counts'].decode()
            results.append(
                dict(
                    image_id=img_id,
                    category_id=ann['category_id'],
                    segmentation=rle,
                    score=1.0))
            ious.append(best[1])
        progress.update()
    with contextlib.redirect_stdout(io.StringIO()):
        evaluator = COCOeval(coco, coco.loadRes(results), 'segm')
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    stats = dict(zip(METRICS, evaluator.stats[:6]))
    stats['mean IoU'] = float(np.mean(ious))
    return stats


def main():
    args = parse_args()
    cfg = load_tool_config(args.config, args.cfg_options)
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(args.ann_file)
    head = cfg.model.mask_head
    rows = {}
    for soft in (False, True):
        print(f'\n{"soft" if soft else "binary"} targets:')
        rows[soft] = bound(coco, cfg, soft)
    print(f'\nmask AP upper bound of {args.config}\n'
          f'(strides {list(head["strides"])}, mask_upsample '
          f'{head.get("mask_upsample", 2)}, '
          f'{len(coco.getAnnIds())} instances)')
    print(f'{"targets":<8}' + ''.join(f'{k:>10}' for k in rows[False]))
    for soft, stats in rows.items():
        flag = ' (config)' if soft == bool(head.get('soft_mask_targets')) \
            else ''
        print(f'{"soft" if soft else "binary":<8}' +
              ''.join(f'{v:>10.3f}' for v in stats.values()) + flag)


if __name__ == '__main__':
    main()

# Copyright (c) mmsolo contributors. All rights reserved.
"""Predictions with known scores, dumped as ``tools/test.py --out`` does.

Built from the ground truth of the tiny shapes set, so the expected mask
AP of every image and the expected confusion matrix follow from how each
image's predictions were made (see :func:`make_predictions`).
"""
import os.path as osp

import numpy as np
import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_CFG = osp.join(REPO_ROOT, 'tests', 'data', 'configs',
                    'tiny_solo_shapes.py')
NUM_CLASSES = 4
#: How the predictions of image ``i`` are made: ``KINDS[i % 3]``.
#: ``exact``: the ground truth (score 0.9); ``relabel``: the ground-truth
#: masks with the next class (score 0.9); ``empty``: nothing. Every image
#: also gets a 2x2-pixel false positive of class 0 (score 0.8) and a copy
#: of its ground truth with the next class scoring 0.1 (below 0.3).
KINDS = ('exact', 'relabel', 'empty')


def data_options(root: str) -> list:
    """``--cfg-options`` that point the tiny config's test set at ``root``.
    """
    return [f'test_dataloader.dataset.data_root={root}']


def tiny_test_dataset(root: str):
    """The tiny config's test dataset on ``root``."""
    from mmsolo.utils.tool_data import build_test_dataset
    return build_test_dataset(TINY_CFG,
                              {'test_dataloader.dataset.data_root': root})


def _gt_masks(info: dict) -> tuple:
    """(labels, masks (N, H, W) bool) of an image's instances."""
    from pycocotools import mask as mask_utils
    h, w = info['height'], info['width']
    labels, masks = [], []
    for inst in info['instances']:
        rle = mask_utils.merge(mask_utils.frPyObjects(inst['mask'], h, w))
        labels.append(inst['bbox_label'])
        masks.append(mask_utils.decode(rle).astype(bool))
    masks = np.stack(masks) if masks else np.zeros((0, h, w), bool)
    return np.array(labels, dtype=np.int64), masks


def make_predictions(root: str, path: str, with_fp: bool = True) -> list:
    """Dump predictions of the tiny test set to ``path`` (mmdet's format).

    Args:
        root (str): Data root of the shapes set.
        path (str): Output ``.pkl``.
        with_fp (bool): Add the false positive and the low-scored copy.

    Returns:
        list[dict]: Per image: ``img_id``, ``kind``, ``labels`` (ground
        truth, np.ndarray).
    """
    from mmdet.evaluation import DumpDetResults
    from mmdet.structures.mask import mask2bbox
    dataset = tiny_test_dataset(root)
    samples, truth = [], []
    for idx in range(len(dataset)):
        info = dataset.get_data_info(idx)
        kind = KINDS[idx % len(KINDS)]
        labels, masks = _gt_masks(info)
        h, w = info['height'], info['width']
        pred_labels, pred_masks, scores = [], [], []
        if kind != 'empty':
            shift = 0 if kind == 'exact' else 1
            pred_labels.append((labels + shift) % NUM_CLASSES)
            pred_masks.append(masks)
            scores.append(np.full(len(labels), 0.9))
        if with_fp:
            corner = np.zeros((1, h, w), bool)
            corner[0, :2, :2] = True
            pred_labels += [np.zeros(1, np.int64), (labels + 1) % 4]
            pred_masks += [corner, masks]
            scores += [np.full(1, 0.8), np.full(len(labels), 0.1)]
        all_masks = torch.as_tensor(
            np.concatenate(pred_masks) if pred_masks else np.zeros((0, h,
                                                                    w), bool))
        samples.append(
            dict(
                img_id=info['img_id'],
                img_path=info['img_path'],
                ori_shape=(h, w),
                pred_instances=dict(
                    labels=torch.as_tensor(
                        np.concatenate(pred_labels) if pred_labels else np.
                        zeros(0, np.int64)),
                    scores=torch.as_tensor(
                        np.concatenate(scores) if scores else np.zeros(0),
                        dtype=torch.float32),
                    bboxes=mask2bbox(all_masks).float(),
                    masks=all_masks)))
        truth.append(dict(img_id=info['img_id'], kind=kind, labels=labels))
    dump = DumpDetResults(out_file_path=path)
    dump.process({}, samples)
    dump.compute_metrics(dump.results)
    return truth

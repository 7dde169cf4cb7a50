# Copyright (c) mmsolo contributors. All rights reserved.
"""Boundary precision, recall and F-score of instance contours."""
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mmsolo.datasets.transforms import mask_contour
from mmsolo.registry import METRICS


def distance_to(boundary: np.ndarray) -> np.ndarray:
    """Euclidean distance of every pixel to the nearest boundary pixel.

    Args:
        boundary (np.ndarray): (H, W) binary boundary map.

    Returns:
        np.ndarray: (H, W) float32 distances; ``inf`` everywhere when the
        map is empty.
    """
    if not boundary.any():
        return np.full(boundary.shape, np.inf, np.float32)
    return cv2.distanceTransform((boundary == 0).astype(np.uint8), cv2.DIST_L2,
                                 cv2.DIST_MASK_PRECISE)


def match_boundaries(preds: List[np.ndarray], pred_labels: np.ndarray,
                     gts: List[np.ndarray], gt_labels: np.ndarray,
                     tolerance: float) -> Tuple[np.ndarray, np.ndarray]:
    """Match predicted to ground-truth boundaries, one to one, per class.

    Predictions (in the order given, highest score first) each take the
    unmatched ground-truth instance of their class whose boundary F-score
    with theirs is highest (ties: the first instance; none if every F-score
    is 0). A boundary pixel is right when a boundary pixel of the other
    instance lies within ``tolerance`` pixels (Euclidean distance).

    Args:
        preds (list[np.ndarray]): Predicted boundary maps (H, W).
        pred_labels (np.ndarray): Their classes.
        gts (list[np.ndarray]): Ground-truth boundary maps (H, W).
        gt_labels (np.ndarray): Their classes.
        tolerance (float): Distance in pixels.

    Returns:
        tuple[np.ndarray]: Per prediction its boundary precision and per
        ground-truth instance its boundary recall (0 when unmatched).
    """
    precision = np.zeros(len(preds))
    recall = np.zeros(len(gts))
    gt_dists = [distance_to(g) for g in gts]
    gt_points = [g.astype(bool) for g in gts]
    matched = np.zeros(len(gts), dtype=bool)
    for i, (pred, label) in enumerate(zip(preds, pred_labels)):
        candidates = np.flatnonzero((gt_labels == label) & ~matched)
        if not len(candidates) or not pred.any():
            continue
        pred_dist = distance_to(pred)
        pred_points = pred.astype(bool)
        best = (0., -1, 0., 0.)
        for j in candidates:
            p = float((gt_dists[j][pred_points] <= tolerance).mean())
            r = float((pred_dist[gt_points[j]] <= tolerance).mean()) \
                if gt_points[j].any() else 0.
            f = 2 * p * r / (p + r) if p + r else 0.
            if f > best[0]:
                best = (f, j, p, r)
        if best[1] >= 0:
            matched[best[1]] = True
            precision[i], recall[best[1]] = best[2], best[3]
    return precision, recall


@METRICS.register_module()
class BoundaryFScoreMetric(BaseMetric):
    """Boundary precision / recall / F-score of instances, per instance.

    For instance contour detection (paper appendix B.3). The ground-truth
    boundaries are the 1-pixel contours (OpenCV ``findContours``) of the
    ground-truth masks of the data samples (``gt_instances.masks``: the
    test pipeline loads the filled masks with ``LoadAnnotations``; do not
    put ``MasksToContours`` in it). The predicted boundaries are the
    predicted masks themselves (``pred_type='contour'``: a contour model's
    output) or the 1-pixel contours of the predicted masks
    (``pred_type='mask'``: an instance-segmentation model's output), both at
    the original image size, keeping predictions scoring at least
    ``score_thr``.

    Per image, predictions (by decreasing score) are matched one to one to
    ground-truth instances of their class (:func:`match_boundaries`). A
    predicted boundary pixel is correct when a ground-truth boundary pixel
    of its matched instance is within ``tolerance`` pixels of the original
    image, and a ground-truth pixel is found when a predicted one is within
    the tolerance. Precision is the mean over all predictions (0 for an
    unmatched one), recall the mean over all ground-truth instances (0 for
    a missed one), and F-score their harmonic mean.

    Args:
        tolerance (float): Distance in pixels of the original image.
            Defaults to 2.
        score_thr (float): Predictions scoring less are ignored. Defaults to
            0.3.
        pred_type (str): ``'contour'`` or ``'mask'`` (see above).
        collect_device (str): As mmengine's ``BaseMetric``.
        prefix (str, optional): Prefix of the metric names; defaults to
            ``'boundary'``.
    """
    default_prefix = 'boundary'

    def __init__(self,
                 tolerance: float = 2.,
                 score_thr: float = 0.3,
                 pred_type: str = 'contour',
                 collect_device: str = 'cpu',
                 prefix: str = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if pred_type not in ('contour', 'mask'):
            raise ValueError(
                "BoundaryFScoreMetric: pred_type must be 'contour' or "
                f"'mask', got {pred_type!r}")
        self.tolerance = tolerance
        self.score_thr = score_thr
        self.pred_type = pred_type

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Match the instances of each image and keep their scores."""
        for sample in data_samples:
            gt = sample.get('gt_instances', {})
            if 'masks' not in gt:
                raise KeyError(
                    'BoundaryFScoreMetric needs the ground-truth masks: add '
                    "dict(type='mmdet.LoadAnnotations', with_bbox=True, "
                    'with_mask=True) to the test pipeline')
            pred = sample['pred_instances']
            h, w = sample['ori_shape'][:2]
            gt_masks = gt['masks']
            if (gt_masks.height, gt_masks.width) != (h, w):
                gt_masks = gt_masks.resize((h, w))
            gts = [mask_contour(m) for m in gt_masks.to_ndarray()]
            keep = (pred['scores'] >= self.score_thr).cpu().numpy()
            order = np.argsort(
                -pred['scores'].cpu().numpy()[keep], kind='stable')
            masks = pred['masks'].cpu().numpy()[keep][order]
            if self.pred_type == 'mask':
                preds = [mask_contour(m) for m in masks]
            else:
                preds = [m.astype(np.uint8) for m in masks]
            precision, recall = match_boundaries(
                preds, pred['labels'].cpu().numpy()[keep][order], gts,
                np.asarray(gt['labels'].cpu()), self.tolerance)
            self.results.append(
                (precision.sum(), len(precision), recall.sum(), len(recall)))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Precision, recall and F-score over the dataset."""
        sums = np.array(results, dtype=np.float64).reshape(-1, 4).sum(0)
        precision = sums[0] / sums[1] if sums[1] else 0.
        recall = sums[2] / sums[3] if sums[3] else 0.
        fscore = 2 * precision * recall / (precision + recall) \
            if precision + recall else 0.
        MMLogger.get_current_instance().info(
            f'boundary F-score at {self.tolerance:g} px: precision '
            f'{precision:.3f} ({int(sums[1])} predictions), recall '
            f'{recall:.3f} ({int(sums[3])} instances), F {fscore:.3f}')
        return dict(
            precision=float(precision),
            recall=float(recall),
            fscore=float(fscore))

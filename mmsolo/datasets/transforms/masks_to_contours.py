# Copyright (c) mmsolo contributors. All rights reserved.
"""Instance contours from instance masks (paper appendix B.3)."""
import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.structures.mask import BitmapMasks

from mmsolo.registry import TRANSFORMS


def mask_contour(mask: np.ndarray,
                 thickness: int = 1,
                 external_only: bool = False) -> np.ndarray:
    """The contour of a binary mask, drawn as a binary mask.

    The borders are found with OpenCV's ``findContours`` (every pixel of
    them, ``CHAIN_APPROX_NONE``) and drawn 1 pixel wide with
    ``drawContours``: the mask's outermost pixels (and those around its
    holes). A thicker contour adds the mask pixels closer than
    ``thickness`` pixels to them (Euclidean distance): a band ``thickness``
    pixels wide inside the mask, so that the contours of touching
    instances do not overlap.

    Args:
        mask (np.ndarray): (H, W) binary mask.
        thickness (int): Line width in pixels.
        external_only (bool): Only the outer borders (no holes).

    Returns:
        np.ndarray: (H, W) uint8 mask, 1 on the contour.
    """
    mode = cv2.RETR_EXTERNAL if external_only else cv2.RETR_LIST
    contours, _ = cv2.findContours(
        np.ascontiguousarray(mask, dtype=np.uint8), mode,
        cv2.CHAIN_APPROX_NONE)
    out = np.zeros(mask.shape[:2], dtype=np.uint8)
    if contours:
        cv2.drawContours(out, contours, -1, 1, 1)
    if thickness > 1 and out.any():
        near = cv2.distanceTransform((out == 0).astype(np.uint8), cv2.DIST_L2,
                                     cv2.DIST_MASK_PRECISE)
        out = ((near < thickness) & (mask > 0)).astype(np.uint8)
    return out


@TRANSFORMS.register_module()
class MasksToContours(BaseTransform):
    """Replace the ground-truth instance masks by their contours.

    Trains SOLO for instance contour detection (paper appendix B.3): the
    mask branch learns each instance's contour instead of its filled mask.
    Any COCO-format dataset works unchanged. The contours are drawn at the
    image size of that point of the pipeline: put the transform after
    ``Resize`` so that ``thickness`` is in pixels of the network input and
    the lines are not broken by a later resize (as the configs in
    ``configs/solo/contour/`` do). Boxes and labels are kept: the boxes of
    an instance and of its contour are the same.

    Required Keys:

    - gt_masks (BitmapMasks | PolygonMasks)

    Modified Keys:

    - gt_masks (BitmapMasks)

    Args:
        thickness (int): Width of the contour lines in pixels. Defaults to 2.
        external_only (bool): Only outer borders, no holes. Defaults to
            False.
    """

    def __init__(self, thickness: int = 2, external_only: bool = False):
        if thickness < 1:
            raise ValueError(
                f'MasksToContours: thickness must be >= 1, got {thickness}')
        self.thickness = thickness
        self.external_only = external_only

    def transform(self, results: dict) -> dict:
        """Replace ``results['gt_masks']`` by the contour masks."""
        masks = results.get('gt_masks')
        if masks is None:
            return results
        h, w = masks.height, masks.width
        contours = [
            mask_contour(m, self.thickness, self.external_only)
            for m in masks.to_ndarray()
        ]
        results['gt_masks'] = BitmapMasks(
            np.stack(contours) if contours else np.zeros((0, h, w), np.uint8),
            h, w)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(thickness={self.thickness}, '
                f'external_only={self.external_only})')

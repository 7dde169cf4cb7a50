# Copyright (c) mmsolo contributors. All rights reserved.
"""Random transposition (swap of the image axes) for data augmentation."""
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmdet.structures.bbox import BaseBoxes, HorizontalBoxes
from mmdet.structures.mask import BitmapMasks, PolygonMasks

from mmsolo.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomTranspose(BaseTransform):
    """Swap the height and width axes of an image and its annotations.

    A transposition is a reflection about the main diagonal. Together with
    mmdet's ``RandomFlip`` over ``['horizontal', 'vertical', 'diagonal']``
    it draws from all eight rotations and reflections by multiples of 90
    degrees, which leaves the labels of rotation-invariant data (aerial
    images, cells, the generated shapes) unchanged.

    Required Keys:

    - img
    - gt_bboxes (BaseBoxes[torch.float32]) (optional)
    - gt_masks (BitmapMasks | PolygonMasks) (optional)
    - gt_seg_map (np.uint8) (optional)

    Modified Keys:

    - img
    - img_shape
    - gt_bboxes
    - gt_masks
    - gt_seg_map

    Added Keys:

    - transpose (bool)

    Args:
        prob (float): Probability of transposing. Defaults to 0.5.
    """

    def __init__(self, prob: float = 0.5) -> None:
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        self.prob = prob

    @cache_randomness
    def _choose(self) -> bool:
        return bool(np.random.rand() < self.prob)

    @staticmethod
    def _transpose_boxes(boxes: BaseBoxes) -> BaseBoxes:
        if not isinstance(boxes, HorizontalBoxes):
            raise TypeError('RandomTranspose supports HorizontalBoxes only, '
                            f'got {type(boxes).__name__}')
        return HorizontalBoxes(boxes.tensor[:, [1, 0, 3, 2]])

    @staticmethod
    def _transpose_masks(masks):
        if isinstance(masks, BitmapMasks):
            h, w = masks.height, masks.width
            return BitmapMasks(
                np.ascontiguousarray(masks.masks.transpose(0, 2, 1)), w, h)
        if isinstance(masks, PolygonMasks):
            h, w = masks.height, masks.width
            polys = []
            for obj in masks.masks:
                obj_polys = []
                for p in obj:
                    p = np.asarray(p).reshape(-1, 2)[:, ::-1]
                    obj_polys.append(np.ascontiguousarray(p).reshape(-1))
                polys.append(obj_polys)
            return PolygonMasks(polys, w, h)
        raise TypeError('gt_masks must be BitmapMasks or PolygonMasks, got '
                        f'{type(masks).__name__}')

    def transform(self, results: dict) -> Optional[dict]:
        """Transpose the image and its annotations with probability ``prob``.

        Args:
            results (dict): The result dict of the pipeline.

        Returns:
            dict: The (possibly) transposed results, with ``transpose`` set.
        """
        do = self._choose()
        results['transpose'] = do
        if not do:
            return results
        img = results['img']
        axes = (1, 0, 2) if img.ndim == 3 else (1, 0)
        results['img'] = np.ascontiguousarray(img.transpose(axes))
        results['img_shape'] = results['img'].shape[:2]
        if results.get('gt_bboxes', None) is not None:
            results['gt_bboxes'] = self._transpose_boxes(results['gt_bboxes'])
        if results.get('gt_masks', None) is not None:
            results['gt_masks'] = self._transpose_masks(results['gt_masks'])
        if results.get('gt_seg_map', None) is not None:
            results['gt_seg_map'] = np.ascontiguousarray(
                results['gt_seg_map'].T)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(prob={self.prob})'

# Copyright (c) mmsolo contributors. All rights reserved.
"""Instance contours, each in its own colour (paper Fig. 7)."""
import colorsys
from typing import List, Optional

import numpy as np
import torch
from mmdet.structures.mask import BitmapMasks, PolygonMasks
from mmdet.visualization import DetLocalVisualizer
from mmengine.structures import InstanceData

from mmsolo.datasets.transforms import mask_contour
from mmsolo.registry import VISUALIZERS


def instance_colors(num: int) -> List[tuple]:
    """``num`` distinct, saturated RGB colours (golden-ratio hues)."""
    return [
        tuple(
            int(255 * c)
            for c in colorsys.hsv_to_rgb((0.1 + i * 0.618034) % 1, 0.9, 1.))
        for i in range(num)
    ]


@VISUALIZERS.register_module()
class ContourVisualizer(DetLocalVisualizer):
    """mmdet's ``DetLocalVisualizer`` drawing instance contours.

    Each instance gets its own colour (not its class's) and its contour is
    drawn opaque, with the class name (and score) beside it; no boxes. The
    predicted masks of a contour model are drawn as they are; ground-truth
    masks (and, with ``pred_contours_of_masks=True``, the predicted masks of
    an instance-segmentation model) are filled, and their contours are
    drawn (:func:`mmsolo.datasets.mask_contour`, ``thickness`` pixels).
    Used by ``tools/test.py --show-dir`` and ``demo/image_demo.py`` when the
    config sets ``visualizer = dict(type='ContourVisualizer', ...)``.

    Args:
        thickness (int): Width of the contours drawn from filled masks, in
            pixels of the image. Defaults to 2.
        pred_contours_of_masks (bool): The predictions are filled masks.
            Defaults to False.
        **kwargs: Arguments of ``DetLocalVisualizer``.
    """

    def __init__(self,
                 name: str = 'visualizer',
                 thickness: int = 2,
                 pred_contours_of_masks: bool = False,
                 **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        self.thickness = thickness
        self.pred_contours_of_masks = pred_contours_of_masks

    def _draw_instances(self, image: np.ndarray, instances: InstanceData,
                        classes: Optional[List[str]],
                        palette: Optional[List[tuple]]) -> np.ndarray:
        """Draw the contours and labels of ``instances`` on ``image``."""
        self.set_image(image)
        if 'masks' not in instances or not len(instances):
            return self.get_image()
        masks = instances.masks
        if isinstance(masks, (PolygonMasks, BitmapMasks)):
            masks = masks.to_ndarray()
        elif isinstance(masks, torch.Tensor):
            masks = masks.numpy()
        masks = masks.astype(np.uint8)
        is_pred = 'scores' in instances
        if not is_pred or self.pred_contours_of_masks:
            masks = np.stack([mask_contour(m, self.thickness) for m in masks])
        colors = instance_colors(len(masks))
        self.draw_binary_masks(masks.astype(bool), colors=colors, alphas=1.)
        for i, (mask, label) in enumerate(zip(masks, instances.labels)):
            ys, xs = np.nonzero(mask)
            if not len(ys):
                continue
            text = classes[label] if classes is not None else f'class {label}'
            if is_pred:
                text += f': {100 * float(instances.scores[i]):.1f}'
            self.draw_texts(
                text,
                np.array([xs.min(), max(ys.min() - 12, 0)]),
                colors=colors[i],
                font_sizes=9,
                bboxes=[dict(facecolor='black', alpha=0.6, pad=0.5)])
        return self.get_image()

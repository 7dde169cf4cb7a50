# Copyright (c) mmsolo contributors. All rights reserved.
"""Running the deterministic head of a pipeline once per image."""
import copy
from typing import Any, List, Optional, Sequence, Union

import numpy as np
import torch
from mmcv.transforms import BaseTransform, Compose

from mmsolo.registry import TRANSFORMS


def nbytes(obj: Any) -> int:
    """The bytes of the arrays and tensors in ``obj`` (through dicts,
    sequences and the attributes of mmdet's mask and box structures)."""
    if isinstance(obj, np.ndarray):
        return obj.nbytes
    if isinstance(obj, torch.Tensor):
        return obj.element_size() * obj.numel()
    if isinstance(obj, dict):
        return sum(nbytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(nbytes(v) for v in obj)
    for attr in ('masks', 'tensor'):  # BitmapMasks, HorizontalBoxes
        if isinstance(getattr(obj, attr, None), (np.ndarray, torch.Tensor)):
            return nbytes(getattr(obj, attr))
    return 0


@TRANSFORMS.register_module()
class CachedCompose(BaseTransform):
    """Apply ``transforms`` once per image and keep their results in memory.

    Loading and resizing (decoding the image, rasterising the polygons,
    resizing both) give the same result every epoch; on a small data set
    trained for many epochs they are a tenth of a CPU training iteration.
    Put them in a ``CachedCompose`` and the random augmentations after it::

        train_pipeline = [
            dict(type='CachedCompose', transforms=[
                dict(type='LoadImageFromFile'),
                dict(type='mmdet.LoadAnnotations', with_mask=True),
                dict(type='mmdet.Resize', scale=(160, 160), keep_ratio=True),
            ]),
            dict(type='mmdet.RandomFlip', prob=0.5),
            dict(type='mmdet.PackDetInputs'),
        ]

    Only deterministic transforms belong inside: a random one would repeat
    its first draw every epoch. What they add to the results or replace is
    kept, and each call gets a deep copy of it, so later transforms may
    change it in place (a change that a kept transform makes inside an
    input value in place is not repeated on later calls). Every data
    loading process keeps its own cache (``num_workers=0``, or persistent
    workers, reuse it across epochs).

    Args:
        transforms (Sequence[dict | callable]): The deterministic transforms.
        max_mb (float, optional): Keep the results of the first images
            seen until their arrays take this many megabytes; later images
            run ``transforms`` every time. None: no limit. Defaults to 1024
            (a 160x160 image with its masks takes ~0.15 MB).
        key (str): The results' key that names an image. Defaults to
            ``'img_path'``.
    """

    def __init__(self,
                 transforms: Sequence[Union[dict, callable]],
                 max_mb: Optional[float] = 1024,
                 key: str = 'img_path') -> None:
        if max_mb is not None and max_mb < 0:
            raise ValueError(f'max_mb must be >= 0, got {max_mb}')
        self.transforms = Compose(list(transforms))
        self.max_mb = max_mb
        self.key = key
        self._cache: dict = {}
        self._bytes = 0

    def transform(self, results: dict) -> Optional[dict]:
        """The cached results of ``transforms`` for this image, computed
        on the first call.

        Args:
            results (dict): The result dict; ``results[key]`` names the
                image.

        Returns:
            dict | None: The transformed results (None where a transform
            drops the sample, which is not cached).
        """
        if self.key not in results:
            raise KeyError(f'CachedCompose: the results have no {self.key!r} '
                           'to name the image by; set `key`')
        name = results[self.key]
        if name not in self._cache:
            before = dict(results)
            out = self.transforms(results)
            if out is not None:
                self._keep(name, before, out)
            return out
        added, removed = self._cache[name]
        # the caller's results are a fresh copy (the dataset makes one per
        # call): only what the transforms added or replaced is copied
        out = dict(results)
        for key in removed:
            out.pop(key, None)
        out.update(copy.deepcopy(added))
        return out

    def _keep(self, name: str, before: dict, after: dict) -> None:
        """Keep the keys (with values, copied) that the transforms added or
        replaced, and the keys they removed, while within ``max_mb``."""
        added = {
            k: v
            for k, v in after.items() if k not in before or v is not before[k]
        }
        size = nbytes(added)
        if self.max_mb is not None and \
                self._bytes + size > self.max_mb * 2**20:
            return
        removed = [k for k in before if k not in after]
        self._cache[name] = (copy.deepcopy(added), removed)
        self._bytes += size

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(transforms={self.transforms!r}, '
                f'max_mb={self.max_mb}, key={self.key!r})')


__all__: List[str] = ['CachedCompose', 'nbytes']

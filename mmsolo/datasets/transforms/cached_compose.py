# Copyright (c) mmsolo contributors. All rights reserved.
"""Running the deterministic head of a pipeline once per image."""
import copy
from typing import List, Optional, Sequence, Union

from mmcv.transforms import BaseTransform, Compose

from mmsolo.registry import TRANSFORMS


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
            ], max_items=4000),
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
        max_items (int, optional): Keep at most this many images' results
            (the first ones seen); later images run ``transforms`` every
            time. None: no limit. Defaults to 4000 (a 160x160 image with
            its masks is ~0.2 MB: about 1 GB at most).
        key (str): The results' key that names an image. Defaults to
            ``'img_path'``.
    """

    def __init__(self,
                 transforms: Sequence[Union[dict, callable]],
                 max_items: Optional[int] = 4000,
                 key: str = 'img_path') -> None:
        if max_items is not None and max_items < 0:
            raise ValueError(f'max_items must be >= 0, got {max_items}')
        self.transforms = Compose(list(transforms))
        self.max_items = max_items
        self.key = key
        self._cache: dict = {}

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
            if out is None:
                return None
            if self.max_items is None or len(self._cache) < self.max_items:
                self._cache[name] = self._changes(before, out)
            return out
        added, removed = self._cache[name]
        # the caller's results are a fresh copy (the dataset makes one per
        # call): only what the transforms added or replaced is copied
        out = dict(results)
        for key in removed:
            out.pop(key, None)
        out.update(copy.deepcopy(added))
        return out

    @staticmethod
    def _changes(before: dict, after: dict) -> tuple:
        """The keys (with values, copied) that the transforms added or
        replaced, and the keys they removed."""
        added = {
            k: v
            for k, v in after.items() if k not in before or v is not before[k]
        }
        removed = [k for k in before if k not in after]
        return copy.deepcopy(added), removed

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(transforms={self.transforms!r}, '
                f'max_items={self.max_items}, key={self.key!r})')


__all__: List[str] = ['CachedCompose']

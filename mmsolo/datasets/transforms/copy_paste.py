# Copyright (c) mmsolo contributors. All rights reserved.
"""Copy-paste (Ghiasi et al., 2021) from recently seen images."""
import copy
import random
from typing import List, Optional

from mmdet.datasets.transforms import CopyPaste
from mmdet.structures.bbox import autocast_box_type
from mmdet.structures.mask import BitmapMasks

from mmsolo.registry import TRANSFORMS

#: the results' keys of an image's objects
OBJECT_KEYS = ('gt_bboxes', 'gt_bboxes_labels', 'gt_masks', 'gt_ignore_flags')


@TRANSFORMS.register_module()
class CachedCopyPaste(CopyPaste):
    """Paste a random subset of the objects of a recently seen image.

    mmdet's ``CopyPaste`` (same object selection, the same rule for dropping
    objects that the pasted ones hide, the same options) with the other
    image taken from a cache of the last ``max_cached_images`` images this
    transform saw, as mmdet's ``CachedMosaic`` does: no dataset wrapper is
    needed, so the config's dataset stays as it is. (``MultiImageMixDataset``
    also deep-copies the results before each transform of its pipeline,
    the raw polygons included: 3.7 ms per image of the quick start's
    pipeline against 0.5 without copy-paste and 0.7-0.8 with this one.)
    The pasting is mmdet's, with the image turned back to its own type.
    More objects per image give the head more positive cells at the same
    backbone cost.

    Put it after the images are loaded and resized; it pastes from a cached
    image of the same size only (none there: the image is left as it is),
    and its thresholds are in pixels of that size. Masks must be bitmaps
    (``LoadAnnotations`` with ``poly2mask=True``, its default).

    Args:
        max_cached_images (int): Images kept to paste from. Defaults to 20.
        prob (float): Probability of pasting onto an image. Defaults to 1.
        max_num_pasted (int): The most objects pasted. Defaults to 100.
        bbox_occluded_thr (int): An object of this image is kept when no
            side of its box moved by more than this (pixels) ...
        mask_occluded_thr (int): ... or when more than this many of its mask
            pixels stay visible. Defaults to 300 (COCO sizes).
        selected (bool): Paste a random subset (True) or all of the other
            image's objects. Defaults to True.
    """

    def __init__(self,
                 max_cached_images: int = 20,
                 prob: float = 1.0,
                 max_num_pasted: int = 100,
                 bbox_occluded_thr: int = 10,
                 mask_occluded_thr: int = 300,
                 selected: bool = True) -> None:
        if max_cached_images < 1:
            raise ValueError(
                f'max_cached_images must be >= 1, got {max_cached_images}')
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        super().__init__(
            max_num_pasted=max_num_pasted,
            bbox_occluded_thr=bbox_occluded_thr,
            mask_occluded_thr=mask_occluded_thr,
            selected=selected)
        self.max_cached_images = max_cached_images
        self.prob = prob
        # not `_cache`: mmcv's `cache_randomness` uses that name
        self._images: List[dict] = []

    @autocast_box_type()
    def transform(self, results: dict) -> dict:
        """Paste objects of a cached image onto this one; cache this one.

        Args:
            results (dict): The result dict, with ``img`` and the
                ``gt_*`` objects (bitmap masks).

        Returns:
            dict: The results with the pasted objects after their own.
        """
        if not isinstance(results.get('gt_masks'), BitmapMasks):
            raise TypeError(
                'CachedCopyPaste needs bitmap masks (results["gt_masks"] is '
                f'{type(results.get("gt_masks")).__name__}): load them with '
                "dict(type='mmdet.LoadAnnotations', with_mask=True, "
                'poly2mask=True) before it')
        source = self._pick_source(results['img'].shape)
        self._remember(results)
        if source is None or random.random() >= self.prob:
            return results
        if self.selected:
            source = self._select_object(dict(source))
        return self._copy_paste(results, source)

    def _pick_source(self, shape: tuple) -> Optional[dict]:
        """A random cached image of this ``shape``, or None."""
        same = [c for c in self._images if c['img'].shape == shape]
        return random.choice(same) if same else None

    def _remember(self, results: dict) -> None:
        """Cache a copy of this image and its objects (later transforms
        change some in place: ``RandomFlip`` flips the boxes), dropping a
        random cached one when full."""
        entry = {k: copy.deepcopy(results[k]) for k in OBJECT_KEYS}
        entry['img'] = results['img'].copy()
        self._images.append(entry)
        if len(self._images) > self.max_cached_images:
            self._images.pop(random.randrange(len(self._images)))

    def _copy_paste(self, dst_results: dict, src_results: dict) -> dict:
        """mmdet's pasting, with the image back in its own type (mmdet
        blends it through ``int64``, eight times the bytes for every later
        transform and the batch).

        Args:
            dst_results (dict): This image's results.
            src_results (dict): The objects to paste, with their image.

        Returns:
            dict: ``dst_results`` with the objects pasted.
        """
        dtype = dst_results['img'].dtype
        out = super()._copy_paste(dst_results, src_results)
        out['img'] = out['img'].astype(dtype, copy=False)
        return out

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}('
                f'max_cached_images={self.max_cached_images}, '
                f'prob={self.prob}, max_num_pasted={self.max_num_pasted}, '
                f'bbox_occluded_thr={self.bbox_occluded_thr}, '
                f'mask_occluded_thr={self.mask_occluded_thr}, '
                f'selected={self.selected})')


__all__: List[str] = ['CachedCopyPaste']

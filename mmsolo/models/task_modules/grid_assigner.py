# Copyright (c) mmsolo contributors. All rights reserved.
"""SOLO's grid target assignment (§2.3 "Label Assignment", Appendix A.1).

An instance goes to every FPN level whose scale range holds the square root
of its box area. On such a level with an S x S grid, the cells inside its
*centre region* -- the box of size (eps * w, eps * h) around the mask's
centre of mass, clamped to the 3 x 3 cells around the centre cell -- become
positive: they are labelled with the instance's class and their mask target
is the instance mask at the level's mask resolution. When regions overlap,
the later instance wins, as in the reference implementations.

Everything is vectorised on the device of the ground truth.
"""
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import mmcv
import numpy as np
import torch
import torch.nn.functional as F
from mmdet.structures.bbox import get_box_tensor
from mmengine.structures import InstanceData
from torch import Tensor

from mmsolo.registry import TASK_UTILS


@dataclass
class LevelTargets:
    """Targets of one image on one level.

    Attributes:
        labels (Tensor): Class of every cell, shape (S, S); ``num_classes``
            marks background.
        pos_inds (Tensor): Row-major indices ``i * S + j`` of the positive
            cells, ascending, shape (P,).
        mask_targets (Tensor): Binary (uint8) mask targets of the positive
            cells at the level's mask resolution, shape (P, h, w).
    """
    labels: Tensor
    pos_inds: Tensor
    mask_targets: Tensor


@dataclass
class BatchTargets:
    """Targets of a batch of images on one level.

    Attributes:
        labels (Tensor): Class of every cell, shape (B, S, S);
            ``num_classes`` marks background.
        img_inds (Tensor): Image of each positive cell, shape (P,).
        pos_inds (Tensor): Row-major cell indices ``i * S + j`` of the
            positive cells, shape (P,); ordered by image, then by cell
            (a cell repeats once per instance with ``all_instances``).
        mask_targets (Tensor): Mask targets of the positive cells at the
            level's mask resolution, shape (P, h, w): binary (uint8), or
            float32 area fractions with ``soft_mask_targets``.
    """
    labels: Tensor
    img_inds: Tensor
    pos_inds: Tensor
    mask_targets: Tensor


def center_of_mass(masks: Tensor, eps: float = 1e-6) -> Tuple[Tensor, Tensor]:
    """Centres of mass (row, column) of binary masks.

    Args:
        masks (Tensor): Shape (N, H, W), bool or integer.
        eps (float): Lower clamp of the normaliser (empty masks).

    Returns:
        tuple[Tensor]: ``(center_h, center_w)``, float32, shape (N,) each.
    """
    n, h, w = masks.shape
    rows = masks.sum(2, dtype=torch.int64)  # (N, H)
    cols = masks.sum(1, dtype=torch.int64)  # (N, W)
    sum_h = (rows * torch.arange(h, device=masks.device)).sum(1)
    sum_w = (cols * torch.arange(w, device=masks.device)).sum(1)
    normalizer = rows.sum(1).float().clamp(min=eps)
    return sum_h / normalizer, sum_w / normalizer


def rescale_masks(masks: Tensor,
                  out_stride: float,
                  soft: bool = False) -> Tensor:
    """Downscale binary masks by ``1 / out_stride``, like ``mmcv.imrescale``.

    The output size is ``round(H / out_stride)`` x ``round(W / out_stride)``
    with bilinear sampling. When the stride divides the mask size (the
    usual case: masks are padded to a multiple of 32) bilinear sampling of a
    binary mask followed by a 0.5 threshold is exactly what OpenCV's
    fixed-point resize gives, so it runs on the masks' device; otherwise it
    falls back to ``mmcv.imrescale`` to stay bit-identical.

    With ``soft=True`` each output pixel is instead the fraction of its
    area that the mask covers (area interpolation): the targets keep where
    the boundary lies inside a pixel, which binary targets round away.

    Args:
        masks (Tensor): Shape (N, H, W), bool or uint8.
        out_stride (float): The downscaling factor.
        soft (bool): Return area fractions instead of binary masks.

    Returns:
        Tensor: uint8 masks (float32 area fractions when ``soft``) of shape
        (N, h, w).
    """
    n, h, w = masks.shape
    out_h, out_w = int(h / out_stride + 0.5), int(w / out_stride + 0.5)
    if soft:
        if n == 0:
            return masks.new_zeros((0, out_h, out_w), dtype=torch.float32)
        return F.interpolate(
            masks[:, None].float(), size=(out_h, out_w), mode='area')[:, 0]
    if n == 0:
        return masks.new_zeros((0, out_h, out_w), dtype=torch.uint8)
    if float(out_stride).is_integer() and h % out_stride == 0 \
            and w % out_stride == 0:
        out = F.interpolate(
            masks[:, None].float(),
            size=(out_h, out_w),
            mode='bilinear',
            align_corners=False)[:, 0]
        return (out >= 0.5).to(torch.uint8)
    arrays = masks.to(torch.uint8).cpu().numpy()
    out = np.stack([mmcv.imrescale(m, 1. / out_stride) for m in arrays])
    return torch.from_numpy(out).to(masks.device)


@TASK_UTILS.register_module()
class SOLOGridAssigner:
    """Assign ground-truth instances to grid cells of every level.

    Args:
        num_classes (int): Number of foreground classes.
        scale_ranges (Sequence[tuple]): ``(lower, upper)`` bounds of
            sqrt(box area) per level, inclusive.
        strides (Sequence[int]): Re-scaled stride of each level; mask
            predictions of a level have stride ``stride / mask_upsample``.
        num_grids (Sequence[int]): Grid size S per level.
        pos_scale (float): The centre-region factor epsilon (0.2).
        soft_mask_targets (bool): Mask targets are the area fractions that
            the instance covers of each mask pixel (float32) instead of
            binary masks (the reference implementations).
        mask_upsample (int): Mask predictions of a level have stride
            ``stride / mask_upsample`` (2 in SOLO).
        mask_strides (Sequence[float], optional): The mask predictions'
            stride of each level, instead of ``stride / mask_upsample``
            (SOLOv2: the unified mask features' stride on every level).
        all_instances (bool): A cell in the centre regions of several
            instances of its level gets one mask target per instance (in
            image order), as in the authors' SOLOv2 and mmdet's
            ``SOLOV2Head``; its label is still the last instance's. False
            (SOLO): the last instance's mask only.
    """

    def __init__(self,
                 num_classes: int,
                 scale_ranges: Sequence[tuple],
                 strides: Sequence[int],
                 num_grids: Sequence[int],
                 pos_scale: float = 0.2,
                 soft_mask_targets: bool = False,
                 mask_upsample: int = 2,
                 mask_strides: Optional[Sequence[float]] = None,
                 all_instances: bool = False) -> None:
        if not len(scale_ranges) == len(strides) == len(num_grids):
            raise ValueError(
                'scale_ranges, strides and num_grids must have one entry per '
                f'level, got {len(scale_ranges)}, {len(strides)} and '
                f'{len(num_grids)}')
        self.num_classes = num_classes
        self.scale_ranges = [tuple(r) for r in scale_ranges]
        self.strides = list(strides)
        self.num_grids = list(num_grids)
        self.pos_scale = pos_scale
        self.soft_mask_targets = soft_mask_targets
        if mask_strides is None:
            mask_strides = [s / mask_upsample for s in self.strides]
        if len(mask_strides) != len(self.strides):
            raise ValueError('mask_strides must have one entry per level, '
                             f'got {list(mask_strides)}')
        self.mask_strides = list(mask_strides)
        self.all_instances = all_instances
        self.target_dtype = torch.float32 if soft_mask_targets \
            else torch.uint8

    def cell_ranges(self, centers: Tuple[Tensor, Tensor],
                    half_sizes: Tuple[Tensor, Tensor], num_grid: int,
                    img_size: Tuple[int, int]) -> Tensor:
        """The inclusive cell ranges of the centre regions.

        Args:
            centers (tuple[Tensor]): Centre rows and columns, shape (N,).
            half_sizes (tuple[Tensor]): Half heights and widths of the centre
                regions, shape (N,).
            num_grid (int): The grid size S.
            img_size (tuple[int]): (H, W) of the (padded) input.

        Returns:
            Tensor: Shape (N, 4), ``(top, down, left, right)`` cell indices.
        """
        cell = 1. / num_grid

        def to_cell(coord: Tensor, size: int) -> Tensor:
            return torch.div(coord / size, cell, rounding_mode='trunc').long()

        (c_h, c_w), (r_h, r_w) = centers, half_sizes
        img_h, img_w = img_size
        coord_h, coord_w = to_cell(c_h, img_h), to_cell(c_w, img_w)
        top = to_cell(c_h - r_h, img_h).clamp(min=0)
        down = to_cell(c_h + r_h, img_h).clamp(max=num_grid - 1)
        left = to_cell(c_w - r_w, img_w).clamp(min=0)
        right = to_cell(c_w + r_w, img_w).clamp(max=num_grid - 1)
        top = torch.maximum(top, coord_h - 1)
        down = torch.minimum(down, coord_h + 1)
        left = torch.maximum(left, coord_w - 1)
        right = torch.minimum(right, coord_w + 1)
        return torch.stack([top, down, left, right], dim=1)

    def assign(self, gt_instances: InstanceData,
               featmap_sizes: Sequence[Tuple[int, int]]) -> List[LevelTargets]:
        """Build the targets of one image.

        Args:
            gt_instances (InstanceData): With ``bboxes`` (N, 4) xyxy,
                ``labels`` (N,) and ``masks`` (mmdet ``BitmapMasks`` or a
                tensor of shape (N, H, W)) padded to the batch input shape.
            featmap_sizes (Sequence[tuple]): (h, w) of each level's mask
                prediction.

        Returns:
            list[LevelTargets]: One entry per level.
        """
        return [
            LevelTargets(t.labels[0], t.pos_inds, t.mask_targets)
            for t in self.assign_batch([gt_instances], featmap_sizes)
        ]

    @staticmethod
    def _masks_tensor(gt_instances: InstanceData, device) -> Tensor:
        masks = gt_instances.masks
        if not isinstance(masks, Tensor):
            masks = masks.to_tensor(dtype=torch.bool, device=device)
        return masks.to(device=device, dtype=torch.bool)

    def assign_batch(
            self, batch_gt_instances: Sequence[InstanceData],
            featmap_sizes: Sequence[Tuple[int, int]]) -> List[BatchTargets]:
        """Build the targets of a batch, all images at once.

        The instances of all images are assigned together, level by level;
        the result is the same as :meth:`assign` image by image (an instance
        only takes cells of its own image), in a few large tensor operations
        instead of many small ones.

        Args:
            batch_gt_instances (Sequence[InstanceData]): Per image, as in
                :meth:`assign`; the masks of all images have the same
                (padded) size.
            featmap_sizes (Sequence[tuple]): (h, w) of each level's mask
                prediction.

        Returns:
            list[BatchTargets]: One entry per level.
        """
        num_imgs = len(batch_gt_instances)
        device = batch_gt_instances[0].labels.device
        labels_all = torch.cat([gt.labels for gt in batch_gt_instances])
        num_gts = len(labels_all)
        first_stride = self.mask_strides[0]
        img_size = (int(featmap_sizes[0][0] * first_stride),
                    int(featmap_sizes[0][1] * first_stride))
        empty_long = torch.zeros(0, dtype=torch.long, device=device)

        if num_gts:
            counts = torch.tensor(
                [len(gt.labels) for gt in batch_gt_instances], device=device)
            img_of = torch.repeat_interleave(
                torch.arange(num_imgs, device=device), counts)
            with_gts = [gt for gt in batch_gt_instances if len(gt.labels)]
            bboxes = torch.cat([get_box_tensor(gt.bboxes)
                                for gt in with_gts]).to(device)
            masks = [self._masks_tensor(gt, device) for gt in with_gts]
            mask_sizes = sorted({tuple(m.shape[-2:]) for m in masks})
            if len(mask_sizes) > 1:
                raise ValueError(
                    'the ground-truth masks of a batch must have one size '
                    f'(pad them to the batch input shape), got {mask_sizes}')
            masks = torch.cat(masks)
            areas = torch.sqrt(
                (bboxes[:, 2] - bboxes[:, 0]) * (bboxes[:, 3] - bboxes[:, 1]))
            valid = masks.flatten(1).any(1)
            centers = center_of_mass(masks)
            half_h = 0.5 * (bboxes[:, 3] - bboxes[:, 1]) * self.pos_scale
            half_w = 0.5 * (bboxes[:, 2] - bboxes[:, 0]) * self.pos_scale
        # masks at each mask stride, computed once per stride for the
        # instances of any level that uses it
        rescaled = {}

        results = []
        for (lower, upper), mask_stride, size, num_grid in zip(
                self.scale_ranges, self.mask_strides, featmap_sizes,
                self.num_grids):
            labels = torch.full((num_imgs, num_grid, num_grid),
                                self.num_classes,
                                dtype=torch.long,
                                device=device)
            empty = BatchTargets(
                labels, empty_long, empty_long,
                torch.zeros((0, *size), dtype=self.target_dtype,
                            device=device))
            if num_gts == 0:
                results.append(empty)
                continue
            hit = ((areas >= lower) & (areas <= upper) & valid).nonzero()
            hit = hit.flatten()
            if len(hit) == 0:
                results.append(empty)
                continue
            ranges = self.cell_ranges((centers[0][hit], centers[1][hit]),
                                      (half_h[hit], half_w[hit]), num_grid,
                                      img_size)
            grid = torch.arange(num_grid, device=device)
            in_rows = (grid >= ranges[:, :1]) & (grid <= ranges[:, 1:2])
            in_cols = (grid >= ranges[:, 2:3]) & (grid <= ranges[:, 3:4])
            cover = in_rows[:, :, None] & in_cols[:, None, :]  # (N, S, S)
            # the last instance of an image covering a cell owns it
            # (instances are in image order, so a global order will do)
            order = torch.arange(1, len(hit) + 1, device=device)
            keys = (cover.long() * order[:, None, None]).flatten(1)
            owner = keys.new_zeros((num_imgs, num_grid * num_grid))
            owner.scatter_reduce_(0, img_of[hit][:, None].expand_as(keys),
                                  keys, 'amax')
            owner -= 1
            pos = owner >= 0
            labels.view(num_imgs, -1)[pos] = labels_all[hit][owner[pos]]
            if self.all_instances:
                inst, cells = cover.flatten(1).nonzero(as_tuple=True)
                img_inds = img_of[hit][inst]
                # by image, then by cell, instances in order (stable)
                order = torch.sort(
                    img_inds * num_grid * num_grid + cells, stable=True)[1]
                img_inds, pos_inds = img_inds[order], cells[order]
                pos_gts = hit[inst[order]]
            else:
                img_inds, pos_inds = pos.nonzero(as_tuple=True)
                pos_gts = hit[owner[img_inds, pos_inds]]

            if mask_stride not in rescaled:
                rescaled[mask_stride] = rescale_masks(masks, mask_stride,
                                                      self.soft_mask_targets)
            level_masks = rescaled[mask_stride]
            mask_targets = torch.zeros((len(pos_gts), *size),
                                       dtype=self.target_dtype,
                                       device=device)
            h = min(size[0], level_masks.shape[1])
            w = min(size[1], level_masks.shape[2])
            mask_targets[:, :h, :w] = level_masks[pos_gts, :h, :w]
            results.append(
                BatchTargets(labels, img_inds, pos_inds, mask_targets))
        return results

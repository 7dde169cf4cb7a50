# Copyright (c) mmsolo contributors. All rights reserved.
"""The interface of a SOLO head's mask branch.

A SOLO head is a category branch, the loss wiring and one mask branch. The
mask branches differ (vanilla S^2 channels, decoupled X/Y, SOLOv2's dynamic
kernels) behind one interface, :class:`BaseMaskBranch`:

- building its layers (``_init_layers``), with mmdet 3.x's parameter names;
- ``forward(feats, neck_feats)``: the mask outputs of every level, a tuple
  of tensors per level;
- ``preds_for_loss(outs, level, img_inds, cells)``: mask predictions of
  chosen (image, cell) pairs, in the form the mask loss expects;
- ``prepare_predict`` / ``mask_probs``: soft masks of chosen cells of one
  image at test time (the per-image work done once, then per chunk of
  cells);
- ``flip(outs, level, direction)`` and ``merge_views``: the outputs of a
  flipped input mapped back and several views combined (test-time
  augmentation).

Only chosen cells are ever evaluated; how (e.g. the vanilla branch's lazy
1x1 conv) is each branch's private business.
"""
from abc import ABCMeta, abstractmethod
from contextlib import contextmanager
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmdet.utils import ConfigType, OptConfigType
from torch import Tensor

from ..layers.traceable import resize_stack, tracing

#: the image axes that each flip of test-time augmentation reverses
FLIP_DIMS = dict(horizontal=(-1, ), vertical=(-2, ), diagonal=(-2, -1))


def build_tower(
    in_channels: int,
    feat_channels: int,
    num_convs: int,
    norm_cfg: ConfigType,
    extra_channels: int = 0,
    num_extra: int = 1,
    conv_cfg: Optional[Callable[[int],
                                OptConfigType]] = None) -> nn.ModuleList:
    """A stack of ``num_convs`` 3x3 ConvModules.

    Args:
        in_channels (int): Channels of the input features.
        feat_channels (int): Channels of every conv's output.
        num_convs (int): Number of convs.
        norm_cfg (dict): Normalisation of the convs.
        extra_channels (int): Channels (coordinates) concatenated before
            each of the first ``num_extra`` convs.
        num_extra (int): How many convs receive the extra channels.
        conv_cfg (callable, optional): Conv config of the ``i``-th conv
            (e.g. a DCN); None for plain convs.

    Returns:
        nn.ModuleList: The tower.
    """
    tower = nn.ModuleList()
    for i in range(num_convs):
        chn = in_channels if i == 0 else feat_channels
        if extra_channels and i < num_extra:
            chn += extra_channels
        tower.append(
            ConvModule(
                chn,
                feat_channels,
                3,
                stride=1,
                padding=1,
                conv_cfg=conv_cfg(i) if conv_cfg else None,
                norm_cfg=norm_cfg))
    return tower


class BaseMaskBranch(nn.Module, metaclass=ABCMeta):
    """A SOLO head's mask branch (see the module docstring).

    The head registers the branch's layers as its own children, so that the
    parameter names are mmdet's (``mask_head.mask_convs.0.conv.weight``,
    not ``mask_head.mask_branch.mask_convs...``) and checkpoints load
    strictly; the branch object itself is not a submodule of the head.

    Args:
        num_grids (Sequence[int]): Grid size S of each level.
        mask_upsample (int): A level's masks have ``mask_upsample`` times
            the resolution of its features: chosen cells' logits are
            up-sampled (bilinear) by ``mask_upsample / out_upsample``.
        out_upsample (int): How many times finer than the level's features
            the branch's own outputs are (2: the paper's towers up-sample
            their features by 2 before the output convs).
    """

    def __init__(self,
                 num_grids: Sequence[int],
                 mask_upsample: int = 2,
                 out_upsample: int = 2):
        super().__init__()
        if mask_upsample % out_upsample:
            raise ValueError(f'mask_upsample ({mask_upsample}) must be a '
                             f'multiple of {out_upsample}, the resolution '
                             'of the mask outputs')
        self.num_grids = list(num_grids)
        self.mask_upsample = mask_upsample
        self.out_upsample = out_upsample
        self._init_layers()

    @abstractmethod
    def _init_layers(self) -> None:
        """Build the layers (mmdet's parameter names)."""

    @abstractmethod
    def forward(self, feats: List[Tensor],
                neck_feats: Sequence[Tensor]) -> List[Tuple[Tensor]]:
        """Mask outputs of every level.

        Args:
            feats (list[Tensor]): The head's features of each level (at
                the re-scaled strides).
            neck_feats (Sequence[Tensor]): The neck outputs as they are
                (all of them, whatever ``level_indices`` chooses).

        Returns:
            list[tuple[Tensor]]: Per level, a tuple of tensors whose first
            dimension is the batch.
        """

    @abstractmethod
    def preds_for_loss(self, outs: Tuple[Tensor], level: int, img_inds: Tensor,
                       cells: Tensor) -> Tensor:
        """Mask predictions of chosen (image, cell) pairs for the loss.

        Args:
            outs (tuple[Tensor]): The level's outputs.
            level (int): Level index.
            img_inds (Tensor): Image index of each pair, (K,).
            cells (Tensor): Level-local cell index ``i * S + j``, (K,).

        Returns:
            Tensor: (K, h, w) at :meth:`mask_feat_size`: logits, or
            probabilities for a loss built with ``activate=False``.
        """

    @abstractmethod
    def mask_probs(self, prepared: tuple, level: int, cells: Tensor,
                   out_size: Tuple[int, int]) -> Tensor:
        """Soft masks of chosen cells of one image at test time.

        Args:
            prepared (tuple): The level's entry of :meth:`prepare_predict`.
            level (int): Level index.
            cells (Tensor): Level-local cell indices, (K,).
            out_size (tuple[int]): (h, w) of the first level's masks.

        Returns:
            Tensor: (K, h, w) probabilities.
        """

    @abstractmethod
    def flip(self, outs: Tuple[Tensor], level: int,
             direction: str) -> Tuple[Tensor]:
        """Bring a level's outputs of a flipped input back.

        Args:
            outs (tuple[Tensor]): The level's outputs of the flipped input
                (inside :meth:`full_outputs`).
            level (int): Level index.
            direction (str): A key of :data:`FLIP_DIMS`.

        Returns:
            tuple[Tensor]: What the branch gives for the unflipped input:
            maps flipped back, mirrored cells exchanged.
        """

    def prepare_predict(self, mlvl_outs: List[Tuple[Tensor]], img_ind: int,
                        out_size: Tuple[int, int]) -> List[tuple]:
        """Per-image work shared by all the cells of one image.

        Done once per image, not per chunk of cells (in a traced graph every
        chunk would otherwise copy it).

        Args:
            mlvl_outs (list[tuple[Tensor]]): Outputs of every level.
            img_ind (int): Image index in the batch.
            out_size (tuple[int]): (h, w) of the first level's masks.

        Returns:
            list[tuple]: Per level, what :meth:`mask_probs` reads; by
            default the level's outputs of the image, contiguous.
        """
        return [
            tuple(t[img_ind].contiguous() for t in outs) for outs in mlvl_outs
        ]

    def cell_probs(self, prepared: List[tuple], level_cells: List[Tensor],
                   out_size: Tuple[int, int]) -> Tensor:
        """Soft masks of chosen cells of every level of one image.

        Args:
            prepared (list[tuple]): What :meth:`prepare_predict` gave.
            level_cells (list[Tensor]): Per level, level-local cell indices.
            out_size (tuple[int]): (h, w) of the first level's masks.

        Returns:
            Tensor: (K, h, w) probabilities, the levels' cells in order; by
            default :meth:`mask_probs` level by level.
        """
        parts = [
            self.mask_probs(prepared[level], level, cells, out_size)
            for level, cells in enumerate(level_cells)
            if tracing() or cells.numel()
        ]
        if not parts:
            return prepared[0][0].new_zeros((0, *out_size))
        return torch.cat(parts)

    def merge_views(self,
                    views: List[List[Tuple[Tensor]]]) -> List[Tuple[Tensor]]:
        """Combine the outputs of several views (test-time augmentation).

        Args:
            views (list[list[tuple[Tensor]]]): Per view, the outputs of
                every level, flipped back (see :meth:`flip`).

        Returns:
            list[tuple[Tensor]]: Outputs whose masks are the mean logits of
            the views' masks; by default the mean of the outputs.
        """
        num = len(views)
        return [
            tuple(sum(parts) / num for parts in zip(*level_outs))
            for level_outs in zip(*views)
        ]

    @contextmanager
    def full_outputs(self) -> Iterator[None]:
        """Within it, outputs can be flipped and merged (see :meth:`flip`).

        Branches that evaluate part of their outputs lazily switch that off
        here. A no-op by default.
        """
        yield

    def mask_feat_size(self, outs: Tuple[Tensor]) -> Tuple[int, int]:
        """(h, w) of a level's mask predictions (after up-sampling)."""
        return self.upsampled_size(outs[0])

    def upsampled_size(self, feat: Tensor) -> Tuple[int, int]:
        """(h, w) of ``feat``'s maps after :meth:`upsample_logits`."""
        h, w = feat.shape[-2:]
        scale = self.mask_upsample // self.out_upsample
        return h * scale, w * scale

    def upsample_logits(self, logits: Tensor) -> Tensor:
        """Up-sample chosen cells' logits by ``mask_upsample /
        out_upsample``."""
        scale = self.mask_upsample // self.out_upsample
        if scale == 1:
            return logits
        return resize_stack(logits, scale_factor=scale)

    def to_out_size(self, probs: Tensor, out_size: Tuple[int, int]) -> Tensor:
        """Resize (K, h, w) soft masks to ``out_size`` if they differ."""
        if tuple(probs.shape[-2:]) != tuple(out_size):
            probs = resize_stack(probs, size=out_size)
        return probs

    def graph_anchor(self, mlvl_outs: List[Tuple[Tensor]]) -> Tensor:
        """A zero that depends on every output and every parameter.

        Added to the mask loss so that every trainable parameter is in the
        graph even when a batch has no positives (needed by DDP).
        """
        anchor = sum(t.sum() for outs in mlvl_outs for t in outs) * 0.
        return anchor + sum(p.sum() for p in self.parameters()) * 0.


def tower_levels(feats: List[Tensor],
                 run: Callable[[Tensor], Tuple[Tensor]]) -> List[tuple]:
    """Run ``run`` once per distinct feature map of the levels.

    Levels that read the same features (``level_indices``) share the
    result, since the towers' weights are shared by the levels.

    Args:
        feats (list[Tensor]): Features of each level.
        run (callable): The towers, on one feature map.

    Returns:
        list[tuple]: The towers' outputs of each level.
    """
    seen: List[Tuple[Tensor, tuple]] = []
    outs = []
    for feat in feats:
        out = next((o for f, o in seen if f is feat), None)
        if out is None:
            out = run(feat)
            seen.append((feat, out))
        outs.append(out)
    return outs


def cells_to_rows_cols(cells: Tensor, num_grid: int) -> Tuple[Tensor, Tensor]:
    """Rows and columns of row-major cell indices ``i * S + j``."""
    return cells // num_grid, cells % num_grid


def empty_masks(like: Tensor, size: Tuple[int, int]) -> Tensor:
    """(0, h, w) masks with ``like``'s dtype and device."""
    return like.new_zeros((0, *size))


__all__ = [
    'BaseMaskBranch', 'FLIP_DIMS', 'build_tower', 'tower_levels',
    'cells_to_rows_cols', 'empty_masks'
]

# Copyright (c) mmsolo contributors. All rights reserved.
"""What every SOLO head shares: category branch, targets, losses, inference.

A head is the category branch, the loss wiring and one mask branch
(:class:`~mmsolo.models.mask_branches.BaseMaskBranch`), which a subclass
builds in :meth:`BaseSOLOHead.build_mask_branch`; the branch's layers are
registered on the head under mmdet 3.x's names, so model-zoo checkpoints
load strictly. Test-time augmentation lives in
:mod:`mmsolo.models.test_time_augs`, post-processing in
:func:`~mmsolo.models.layers.solo_postprocess`.

Only chosen cells are ever evaluated: positives in training, candidates at
test time, and the candidates' masks are computed in chunks of at most
``nms_pre`` cells, so memory stays bounded whatever the score distribution.
"""
from abc import abstractmethod
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.models.dense_heads.base_mask_head import BaseMaskHead
from mmdet.utils import ConfigType, InstanceList, OptConfigType, OptMultiConfig
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor

from mmsolo.registry import MODELS, TASK_UTILS
from ..layers import GRID_ALIGN_MODES, align_to_grid
from ..layers.postprocess import solo_postprocess
from ..mask_branches import FLIP_DIMS  # noqa: F401 (re-exported)
from ..mask_branches import BaseMaskBranch, build_tower
from ..test_time_augs.solo_tta import check_flips

DEFAULT_TEST_CFG = dict(
    nms_pre=500,
    score_thr=0.1,
    mask_thr=0.5,
    filter_thr=0.05,
    kernel='gaussian',
    sigma=2.0,
    max_per_img=100,
    nms_type='matrix',
    iou_thr=0.5,
    min_area_factor=1.0,
    tta_flips=())


def solo_init_cfg(*mask_output_names: str) -> List[dict]:
    """SOLO's initialisation: N(0, 0.01) convs, prior-probability biases.

    Args:
        *mask_output_names (str): Names of the mask output layers, which,
            like ``conv_cls``, start with a bias giving probability 0.01.

    Returns:
        list[dict]: An ``init_cfg``.
    """
    return [dict(type='Normal', layer='Conv2d', std=0.01)] + [
        dict(type='Normal', std=0.01, bias_prob=0.01, override=dict(name=n))
        for n in (*mask_output_names, 'conv_cls')
    ]


class BaseSOLOHead(BaseMaskHead):
    """Shared base of the SOLO heads.

    Args:
        num_classes (int): Number of foreground classes.
        in_channels (int): Channels of the input features.
        feat_channels (int): Channels of the tower convolutions.
        stacked_convs (int): Head depth: convolutions in each tower
            (Table 5 of the paper; 7 in the main models).
        strides (Sequence[int]): Re-scaled stride of each level.
        scale_ranges (Sequence[tuple]): sqrt(area) range of each level.
        pos_scale (float): Centre-region factor epsilon.
        num_grids (Sequence[int]): Grid size S of each level.
        cls_down_index (int): Index of the category-tower conv before which
            features are aligned to the S x S grid.
        num_coord_convs (int): Number of mask-tower convs that receive the
            normalised coordinates (CoordConv; Table 3: 0-3, default 1).
        cls_align (str): Category alignment (§3.3): ``'interp'``,
            ``'adaptive_pool'`` or ``'region_grid'``.
        level_indices (Sequence[int], optional): Which of the neck's
            outputs the head uses (default: all of them).
        resize_ends (bool): When the head uses more than one level,
            down-sample the first level's features by 2 and up-sample the
            last level's to the size of the one before, as in the paper's
            re-scaled strides (8, 8, 16, 32, 32) from P2-P6. False uses the
            chosen neck outputs as they are (``strides`` must then be their
            strides).
        soft_mask_targets (bool): Train the masks against the fraction of
            each mask pixel that the instance covers instead of binary
            masks at the mask resolution (see :class:`SOLOGridAssigner`).
            Keeps the sub-pixel position of the boundaries, which matters
            when objects are only a few mask pixels across (small inputs).
        mask_upsample (int): A level's masks have stride
            ``stride / mask_upsample``. The mask towers' outputs are
            up-sampled by 2 (bilinear) before the mask output convs, as in
            the paper (``mask_upsample=2``); larger even factors up-sample
            the mask logits further (bilinear), which costs next to nothing
            and lets the masks of objects only a few feature pixels across
            follow their boundaries more closely (small inputs).
        with_cp (bool): Recompute the mask towers in the backward pass
            instead of keeping their activations (gradient checkpointing):
            the same results with much less training memory, for some extra
            time.
        loss_mask (dict): Config of the per-mask loss.
        loss_cls (dict): Config of the category loss.
        norm_cfg (dict): Normalisation of the tower convs.
        train_cfg (dict, optional): Training settings: ``assigner``, the
            grid assigner's config (built through ``TASK_UTILS``; by default
            a :class:`SOLOGridAssigner` from the arguments above), whose
            keys override the defaults.
        test_cfg (dict, optional): Inference settings: ``nms_pre``,
            ``score_thr``, ``mask_thr``, ``filter_thr``, ``max_per_img``,
            ``nms_type`` (``'matrix'`` or ``'mask'``), ``kernel``/``sigma``
            for Matrix NMS, ``iou_thr`` for mask NMS and
            ``min_area_factor``: candidates whose binary mask is not larger
            than ``min_area_factor`` times the level's stride, in pixels of
            the first level's masks at the paper's resolution (stride
            ``strides[0] / 2``), are dropped before NMS (1: the reference
            implementations; 0 keeps every non-empty mask), and
            ``tta_flips``: test-time augmentation, the flips of the input
            (``'horizontal'``, ``'vertical'``, ``'diagonal'``) whose head
            outputs the detector averages with the input's own (logits,
            flipped back) before the post-processing (see
            :mod:`mmsolo.models.test_time_augs`); empty by default.
        init_cfg (dict or list[dict], optional): Initialisation config.
    """
    #: the name of the same head in mmdet 3.x (see ``mmdet_compat``)
    mmdet_type: Optional[str] = None
    #: mmsolo-only arguments that change how, not what, is computed
    result_neutral_args: Tuple[str, ...] = ('with_cp', )

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if 'mmdet_type' not in vars(cls):
            cls.mmdet_type = cls.__name__

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        feat_channels: int = 256,
        stacked_convs: int = 4,
        strides: Sequence[int] = (4, 8, 16, 32, 64),
        scale_ranges: Sequence[tuple] = ((8, 32), (16, 64), (32, 128),
                                         (64, 256), (128, 512)),
        pos_scale: float = 0.2,
        num_grids: Sequence[int] = (40, 36, 24, 16, 12),
        cls_down_index: int = 0,
        num_coord_convs: int = 1,
        cls_align: str = 'interp',
        level_indices: Optional[Sequence[int]] = None,
        resize_ends: bool = True,
        soft_mask_targets: bool = False,
        mask_upsample: int = 2,
        with_cp: bool = False,
        loss_mask: ConfigType = dict(
            type='DiceLoss', use_sigmoid=True, loss_weight=3.0),
        loss_cls: ConfigType = dict(
            type='mmdet.FocalLoss',
            use_sigmoid=True,
            gamma=2.0,
            alpha=0.25,
            loss_weight=1.0),
        norm_cfg: ConfigType = dict(
            type='GN', num_groups=32, requires_grad=True),
        train_cfg: OptConfigType = None,
        test_cfg: OptConfigType = None,
        init_cfg: OptMultiConfig = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if cls_align not in GRID_ALIGN_MODES:
            raise ValueError(f'cls_align must be one of {GRID_ALIGN_MODES}, '
                             f'got {cls_align!r}')
        if not 0 <= num_coord_convs <= stacked_convs:
            raise ValueError('num_coord_convs must be in [0, stacked_convs], '
                             f'got {num_coord_convs}')
        if not 0 <= cls_down_index < max(stacked_convs, 1):
            raise ValueError(f'cls_down_index {cls_down_index} is out of '
                             f'range for stacked_convs={stacked_convs}')
        self.num_classes = num_classes
        self.cls_out_channels = num_classes
        self.in_channels = in_channels
        self.feat_channels = feat_channels
        self.stacked_convs = stacked_convs
        self.strides = list(strides)
        self.scale_ranges = [tuple(r) for r in scale_ranges]
        self.pos_scale = pos_scale
        self.num_grids = list(num_grids)
        self.num_levels = len(self.strides)
        self.cls_down_index = cls_down_index
        self.num_coord_convs = num_coord_convs
        self.cls_align = cls_align
        self.with_cp = with_cp
        if mask_upsample < 2 or mask_upsample % 2:
            raise ValueError('mask_upsample must be an even number >= 2, '
                             f'got {mask_upsample}')
        self.mask_upsample = mask_upsample
        self.resize_ends = resize_ends
        self.level_indices = (
            list(level_indices) if level_indices is not None else None)
        if self.level_indices is not None and \
                len(self.level_indices) != self.num_levels:
            raise ValueError('level_indices must name one neck output per '
                             f'level ({self.num_levels}), got '
                             f'{self.level_indices}')
        self.soft_mask_targets = soft_mask_targets
        self.train_cfg = train_cfg
        self.assigner = TASK_UTILS.build(self.assigner_cfg())
        self.loss_mask = MODELS.build(loss_mask)
        self.loss_cls = MODELS.build(loss_cls)
        self.norm_cfg = norm_cfg
        cfg = dict(DEFAULT_TEST_CFG)
        cfg.update(test_cfg or {})
        if cfg['nms_type'] not in ('matrix', 'mask'):
            raise ValueError("test_cfg.nms_type must be 'matrix' or 'mask', "
                             f"got {cfg['nms_type']!r}")
        cfg['tta_flips'] = check_flips(cfg['tta_flips'])
        self.test_cfg = ConfigDict(cfg)
        self._init_layers()

    # ------------------------------------------------------------------
    # layers
    def assigner_cfg(self) -> dict:
        """The grid assigner's config: today's values from the head's
        arguments, updated with ``train_cfg.assigner``."""
        cfg = dict(
            type='SOLOGridAssigner',
            num_classes=self.num_classes,
            scale_ranges=self.scale_ranges,
            strides=self.strides,
            num_grids=self.num_grids,
            pos_scale=self.pos_scale,
            soft_mask_targets=self.soft_mask_targets,
            mask_upsample=self.mask_upsample)
        cfg.update((self.train_cfg or {}).get('assigner', {}))
        return cfg

    def tower_conv_cfg(self, index: int) -> OptConfigType:
        """Conv config of the ``index``-th tower conv (None: plain conv)."""
        return None

    def branch_args(self) -> dict:
        """The head's arguments that every mask branch reads."""
        return dict(
            num_grids=self.num_grids,
            in_channels=self.in_channels,
            feat_channels=self.feat_channels,
            stacked_convs=self.stacked_convs,
            norm_cfg=self.norm_cfg,
            mask_upsample=self.mask_upsample,
            conv_cfg=self.tower_conv_cfg)

    @abstractmethod
    def build_mask_branch(self) -> BaseMaskBranch:
        """The head's mask branch (see :meth:`branch_args`)."""

    def _init_layers(self) -> None:
        """Build the category branch and the head's mask branch.

        The branch's layers become the head's children (mmdet's parameter
        names); the branch itself is kept out of the module tree.
        """
        self.cls_convs = build_tower(
            self.in_channels,
            self.feat_channels,
            self.stacked_convs,
            self.norm_cfg,
            conv_cfg=self.tower_conv_cfg)
        self.conv_cls = nn.Conv2d(
            self.feat_channels, self.cls_out_channels, 3, padding=1)
        branch = self.build_mask_branch()
        for name, module in branch.named_children():
            self.add_module(name, module)
        self.__dict__['mask_branch'] = branch

    def train(self, mode: bool = True) -> 'BaseSOLOHead':
        """Set the mode of the head and of its mask branch."""
        super().train(mode)
        self.mask_branch.training = mode
        return self

    # ------------------------------------------------------------------
    # forward
    def select_feats(self, x: Sequence[Tensor]) -> List[Tensor]:
        """The neck outputs the head uses (``level_indices``), checked."""
        if self.level_indices is not None:
            x = [x[i] for i in self.level_indices]
        if len(x) != self.num_levels:
            raise ValueError(
                f'{type(self).__name__} has {self.num_levels} levels but got '
                f'{len(x)} feature maps; set level_indices to choose them')
        return list(x)

    def resize_feats(self, x: Sequence[Tensor]) -> List[Tensor]:
        """Pick the used neck outputs and bring them to the head's strides.

        Args:
            x (Sequence[Tensor]): Neck outputs.

        Returns:
            list[Tensor]: One feature map per level.
        """
        return self.rescale_levels(self.select_feats(x))

    def rescale_levels(self, x: List[Tensor]) -> List[Tensor]:
        """The chosen levels' features at the head's strides (see
        ``resize_ends``)."""
        if self.num_levels == 1 or not self.resize_ends:
            return list(x)
        out = []
        for i, feat in enumerate(x):
            if i == 0:
                feat = F.interpolate(feat, scale_factor=0.5, mode='bilinear')
            elif i == len(x) - 1 and feat.shape[-2:] != x[i - 1].shape[-2:]:
                feat = F.interpolate(
                    feat, size=x[i - 1].shape[-2:], mode='bilinear')
            out.append(feat)
        return out

    def forward_cls_level(self, feat: Tensor, level: int) -> Tensor:
        """Category logits of one level, (N, num_classes, S, S)."""
        for j, conv in enumerate(self.cls_convs):
            if j == self.cls_down_index:
                feat = align_to_grid(feat, self.num_grids[level],
                                     self.cls_align)
            feat = conv(feat)
        return self.conv_cls(feat)

    def forward(self, x: Sequence[Tensor]) -> tuple:
        """Forward the neck features.

        Args:
            x (Sequence[Tensor]): Neck outputs.

        Returns:
            tuple: ``(mlvl_mask_outs, mlvl_cls_preds)``: per level, the
            tuple of mask outputs of the head's mask branch and the category
            logits of shape (N, num_classes, S, S).
        """
        feats = self.resize_feats(x)
        mlvl_mask_outs = self.mask_branch(feats, x)
        mlvl_cls_preds = [
            self.forward_cls_level(feat, level)
            for level, feat in enumerate(feats)
        ]
        return mlvl_mask_outs, mlvl_cls_preds

    # ------------------------------------------------------------------
    # training
    def mask_probs(self, prepared: tuple, level: int, cells: Tensor,
                   out_size: Tuple[int, int]) -> Tensor:
        """Soft masks of chosen cells of one image at test time.

        See :meth:`BaseMaskBranch.mask_probs`.
        """
        return self.mask_branch.mask_probs(prepared, level, cells, out_size)

    def prepare_predict(self, mlvl_mask_outs: List[Tuple[Tensor]],
                        img_ind: int, out_size: Tuple[int,
                                                      int]) -> List[tuple]:
        """Per-image work shared by all the cells of one image at test time.

        See :meth:`BaseMaskBranch.prepare_predict`.
        """
        return self.mask_branch.prepare_predict(mlvl_mask_outs, img_ind,
                                                out_size)

    def loss_by_feat(self, mlvl_mask_outs: List[Tuple[Tensor]],
                     mlvl_cls_preds: List[Tensor],
                     batch_gt_instances: InstanceList,
                     batch_img_metas: List[dict], **kwargs) -> dict:
        """Compute the category and mask losses.

        Args:
            mlvl_mask_outs (list[tuple[Tensor]]): Mask outputs per level.
            mlvl_cls_preds (list[Tensor]): Category logits per level,
                (N, num_classes, S, S).
            batch_gt_instances (list[InstanceData]): Ground truth with
                ``bboxes``, ``labels`` and ``masks`` (padded to the batch
                input shape).
            batch_img_metas (list[dict]): Image meta information.

        Returns:
            dict[str, Tensor]: ``loss_mask`` and ``loss_cls``.
        """
        # Losses in float32, also under bfloat16 autocast (BF16OptimWrapper);
        # a no-op for float32 outputs.
        mlvl_mask_outs = [
            tuple(t.float() for t in outs) for outs in mlvl_mask_outs
        ]
        mlvl_cls_preds = [p.float() for p in mlvl_cls_preds]
        featmap_sizes = [
            self.mask_branch.mask_feat_size(o) for o in mlvl_mask_outs
        ]
        targets = self.assigner.assign_batch(batch_gt_instances, featmap_sizes)
        device = mlvl_cls_preds[0].device
        mask_losses = []
        for level, level_targets in enumerate(targets):
            cells = level_targets.pos_inds
            if len(cells) == 0:
                continue
            preds = self.mask_branch.preds_for_loss(
                mlvl_mask_outs[level], level,
                level_targets.img_inds.to(device), cells.to(device))
            mask_losses.append(
                self.loss_mask(
                    preds,
                    level_targets.mask_targets,
                    reduction_override='none'))
        # positive cells (a cell may have several targets, see the
        # assigner's all_instances)
        num_pos = int(
            sum((t.labels != self.num_classes).sum() for t in targets))
        anchor = self.mask_branch.graph_anchor(mlvl_mask_outs)
        if mask_losses:
            loss_mask = torch.cat(mask_losses).sum() / num_pos + anchor
        else:
            loss_mask = anchor

        labels = torch.cat([t.labels.flatten() for t in targets])
        cls_preds = torch.cat([
            p.permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels)
            for p in mlvl_cls_preds
        ])
        loss_cls = self.loss_cls(cls_preds, labels, avg_factor=num_pos + 1)
        return dict(loss_mask=loss_mask, loss_cls=loss_cls)

    # ------------------------------------------------------------------
    # inference
    @staticmethod
    def point_nms(scores: Tensor) -> Tensor:
        """Keep category scores that are 2 x 2 local maxima, zero others."""
        local_max = F.max_pool2d(scores, 2, stride=1, padding=1)
        return scores * (local_max[:, :, :-1, :-1] == scores)

    def flat_cls_scores(self, mlvl_cls_preds: List[Tensor]) -> Tensor:
        """Category scores of every cell after point NMS.

        Args:
            mlvl_cls_preds (list[Tensor]): Category logits per level,
                (N, num_classes, S, S).

        Returns:
            Tensor: (N, num_cells, num_classes), the levels' cells in order.
        """
        n = mlvl_cls_preds[0].shape[0]
        return torch.cat([
            self.point_nms(p.sigmoid()).permute(0, 2, 3, 1).reshape(
                n, -1, self.cls_out_channels) for p in mlvl_cls_preds
        ], 1)

    def predict_by_feat(self,
                        mlvl_mask_outs: List[Tuple[Tensor]],
                        mlvl_cls_preds: List[Tensor],
                        batch_img_metas: List[dict],
                        rescale: bool = True,
                        **kwargs) -> InstanceList:
        """Turn head outputs into instance masks.

        Args:
            mlvl_mask_outs (list[tuple[Tensor]]): Mask outputs per level.
            mlvl_cls_preds (list[Tensor]): Category logits per level.
            batch_img_metas (list[dict]): Image meta information.
            rescale (bool): Return masks at the original image size (True)
                or at the network input size (False).

        Returns:
            list[InstanceData]: Per image ``masks`` (bool, (N, H, W)),
            ``labels``, ``scores`` and ``bboxes`` (the tight boxes of the
            masks, xyxy).
        """
        scores = self.flat_cls_scores(mlvl_cls_preds)
        results = []
        for img_ind, img_meta in enumerate(batch_img_metas):
            img_shape = tuple(img_meta['img_shape'][:2])
            out_shape = tuple(img_meta['ori_shape'][:2]) if rescale \
                else img_shape
            masks, labels, scores_, bboxes = self.predict_image(
                mlvl_mask_outs, scores[img_ind], img_ind, img_shape, out_shape)
            result = InstanceData()
            result.masks = masks
            result.labels = labels
            result.scores = scores_
            result.bboxes = bboxes.to(scores_.dtype)
            results.append(result)
        return results

    def cell_masks(self, prepared: List[tuple], cells: Tensor,
                   out_size: Tuple[int, int]) -> Tensor:
        """Soft masks of global cells of one image at the first level's size.

        Args:
            prepared (list[tuple]): What :meth:`prepare_predict` made of the
                image's mask outputs.
            cells (Tensor): Sorted global cell indices (repeats allowed),
                (K,).
            out_size (tuple[int]): (h, w) of the first level's masks.

        Returns:
            Tensor: (K, h, w) probabilities.
        """
        level_cells, start = [], 0
        for num_grid in self.num_grids:
            end = start + num_grid * num_grid
            level_cells.append(cells[(cells >= start) & (cells < end)] - start)
            start = end
        return self.mask_branch.cell_probs(prepared, level_cells, out_size)

    def paper_mask_stride(self) -> float:
        """Stride of the first level's masks in the reference (the
        area filter's unit): ``strides[0] / 2``."""
        return self.strides[0] / 2

    def predict_image(self, mlvl_mask_outs: List[Tuple[Tensor]],
                      cls_scores: Tensor, img_ind: int, img_shape: Tuple[int,
                                                                         int],
                      out_shape: Tuple[int, int]) -> Tuple[Tensor, ...]:
        """Instances of one image (see :func:`solo_postprocess`).

        Args:
            mlvl_mask_outs (list[tuple[Tensor]]): Mask outputs per level.
            cls_scores (Tensor): The image's (num_cells, num_classes) scores
                from :meth:`flat_cls_scores`.
            img_ind (int): Image index in the batch.
            img_shape (tuple[int]): (h, w) of the image in the padded input.
            out_shape (tuple[int]): (H, W) of the output masks.

        Returns:
            tuple[Tensor]: ``(masks, labels, scores, bboxes)``.
        """
        feat_size = self.mask_branch.mask_feat_size(mlvl_mask_outs[0])
        stride0 = self.assigner.mask_strides[0]
        if float(stride0).is_integer():
            stride0 = int(stride0)
        pad_shape = (feat_size[0] * stride0, feat_size[1] * stride0)
        prepared = self.prepare_predict(mlvl_mask_outs, img_ind, feat_size)
        # the reference's filter (area above the level's stride, in pixels
        # of the first level's masks at the paper's resolution) with the
        # same physical area at the resolution of the masks here
        factor = self.test_cfg.get(
            'min_area_factor', 1.) * (self.paper_mask_stride() / stride0)**2
        return solo_postprocess(
            cls_scores,
            lambda cells: self.cell_masks(prepared, cells, feat_size),
            self.test_cfg,
            self.num_grids,
            min_areas=[stride * factor for stride in self.strides],
            pad_shape=pad_shape,
            img_shape=img_shape,
            out_shape=out_shape)

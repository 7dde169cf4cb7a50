# Copyright (c) mmsolo contributors. All rights reserved.
"""Per-mask losses for SOLO's mask branch (paper eq. 2-4 and Table 4).

All losses take predictions and binary targets of shape (N, H, W) (or
(N, H*W)) and, with ``reduction_override='none'``, return one value per
mask, which the heads sum over positives and divide by their number.
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.models.losses.utils import weight_reduce_loss
from torch import Tensor

from mmsolo.registry import MODELS


class BasePerMaskLoss(nn.Module):
    """Shared reduction, weighting and activation of the per-mask losses.

    Args:
        activate (bool): Whether predictions are logits that still need a
            sigmoid (True) or already probabilities (False, e.g. Decoupled
            SOLO's product of two sigmoids).
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``.
        loss_weight (float): Multiplier of the loss.
        eps (float): Numerical stability term.
    """

    def __init__(self,
                 activate: bool = True,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 eps: float = 1e-3) -> None:
        super().__init__()
        self.activate = activate
        self.reduction = reduction
        self.loss_weight = loss_weight
        self.eps = eps

    def prob_and_bce(self, pred: Tensor,
                     target: Tensor) -> Tuple[Tensor, Tensor]:
        """Probabilities and per-pixel binary cross entropy of predictions.

        Args:
            pred (Tensor): Logits (``activate=True``) or probabilities.
            target (Tensor): Float targets of the same shape.

        Returns:
            tuple[Tensor]: ``(prob, bce)``, both of ``pred``'s shape.
        """
        if self.activate:
            return pred.sigmoid(), F.binary_cross_entropy_with_logits(
                pred, target, reduction='none')
        prob = pred.clamp(self.eps, 1 - self.eps)
        return prob, F.binary_cross_entropy(prob, target, reduction='none')

    def per_mask(self, pred: Tensor, target: Tensor) -> Tensor:
        """Loss of each mask.

        Args:
            pred (Tensor): Flattened predictions, shape (N, P).
            target (Tensor): Flattened float targets, shape (N, P).

        Returns:
            Tensor: Shape (N,).
        """
        raise NotImplementedError

    def forward(self,
                pred: Tensor,
                target: Tensor,
                weight: Optional[Tensor] = None,
                reduction_override: Optional[str] = None,
                avg_factor: Optional[float] = None) -> Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): Predictions, shape (N, ...).
            target (Tensor): Binary targets of the same shape.
            weight (Tensor, optional): Per-mask weights, shape (N,).
            reduction_override (str, optional): Overrides ``reduction``.
            avg_factor (float, optional): Divisor for ``'mean'``.

        Returns:
            Tensor: The loss, shape (N,) for ``'none'``, else a scalar.
        """
        assert reduction_override in (None, 'none', 'mean', 'sum')
        reduction = reduction_override or self.reduction
        pred = pred.flatten(1)
        target = target.flatten(1).to(pred.dtype)
        loss = self.per_mask(pred, target)
        if weight is not None:
            assert weight.ndim == loss.ndim and len(weight) == len(pred)
        loss = weight_reduce_loss(loss, weight, reduction, avg_factor)
        return self.loss_weight * loss


@MODELS.register_module()
class DiceLoss(BasePerMaskLoss):
    """Dice loss, ``1 - 2 sum(p q) / (sum(p^2) + sum(q^2))`` (eq. 3-4).

    ``eps`` is added to both squared sums, as the authors' smoothing.
    Arguments follow mmdet's ``DiceLoss`` so configs carry over.

    Args:
        use_sigmoid (bool): Kept for config compatibility; must be True.
        activate (bool): Apply a sigmoid to ``pred`` first.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``.
        naive_dice (bool): Use ``2 sum(pq) / (sum(p) + sum(q))`` instead.
        loss_weight (float): Multiplier, 3.0 in SOLO (the paper's lambda).
        eps (float): Smoothing term.
    """

    def __init__(self,
                 use_sigmoid: bool = True,
                 activate: bool = True,
                 reduction: str = 'mean',
                 naive_dice: bool = False,
                 loss_weight: float = 1.0,
                 eps: float = 1e-3) -> None:
        if not use_sigmoid:
            raise ValueError('DiceLoss only supports use_sigmoid=True')
        super().__init__(activate, reduction, loss_weight, eps)
        self.use_sigmoid = use_sigmoid
        self.naive_dice = naive_dice

    def per_mask(self, pred: Tensor, target: Tensor) -> Tensor:
        if self.activate:
            pred = pred.sigmoid()
        inter = torch.sum(pred * target, 1)
        if self.naive_dice:
            denom = pred.sum(1) + target.sum(1) + self.eps
            return 1 - (2 * inter + self.eps) / denom
        p2 = torch.sum(pred * pred, 1) + self.eps
        q2 = torch.sum(target * target, 1) + self.eps
        return 1 - (2 * inter) / (p2 + q2)


@MODELS.register_module()
class MaskBCELoss(BasePerMaskLoss):
    """Binary cross entropy averaged over the pixels of each mask (Table 4).

    Args:
        pos_weight (float): Weight of foreground pixels (2 in the paper).
        activate (bool): Whether ``pred`` holds logits.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``.
        loss_weight (float): Multiplier (10 in the paper).
        eps (float): Clamp for probabilities when ``activate=False``.
    """

    def __init__(self,
                 pos_weight: float = 2.0,
                 activate: bool = True,
                 reduction: str = 'mean',
                 loss_weight: float = 10.0,
                 eps: float = 1e-6) -> None:
        super().__init__(activate, reduction, loss_weight, eps)
        self.pos_weight = pos_weight

    def per_mask(self, pred: Tensor, target: Tensor) -> Tensor:
        pixel_weight = 1 + (self.pos_weight - 1) * target
        _, loss = self.prob_and_bce(pred, target)
        return (loss * pixel_weight).mean(1)


@MODELS.register_module()
class MaskFocalLoss(BasePerMaskLoss):
    """Sigmoid focal loss averaged over the pixels of each mask (Table 4).

    Args:
        gamma (float): Focusing parameter.
        alpha (float): Balance of foreground pixels.
        activate (bool): Whether ``pred`` holds logits.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``.
        loss_weight (float): Multiplier (20 in the paper).
        eps (float): Clamp for probabilities when ``activate=False``.
    """

    def __init__(self,
                 gamma: float = 2.0,
                 alpha: float = 0.25,
                 activate: bool = True,
                 reduction: str = 'mean',
                 loss_weight: float = 20.0,
                 eps: float = 1e-6) -> None:
        super().__init__(activate, reduction, loss_weight, eps)
        self.gamma = gamma
        self.alpha = alpha

    def per_mask(self, pred: Tensor, target: Tensor) -> Tensor:
        prob, ce = self.prob_and_bce(pred, target)
        p_t = prob * target + (1 - prob) * (1 - target)
        alpha_t = self.alpha * target + (1 - self.alpha) * (1 - target)
        return (alpha_t * (1 - p_t)**self.gamma * ce).mean(1)

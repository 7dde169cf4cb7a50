# Copyright (c) mmsolo contributors. All rights reserved.
import pytest
import torch
import torch.nn.functional as F

from mmsolo.registry import MODELS


def _build(cfg):
    import mmsolo.models  # noqa: F401
    return MODELS.build(cfg)


def test_dice_loss_matches_paper_formula():
    torch.manual_seed(0)
    logits = torch.randn(3, 8, 8)
    target = (torch.rand(3, 8, 8) > 0.5).float()
    loss = _build(dict(type='DiceLoss', loss_weight=3.0, eps=0.))
    p = logits.sigmoid().flatten(1)
    q = target.flatten(1)
    dice = 2 * (p * q).sum(1) / ((p**2).sum(1) + (q**2).sum(1))
    per_mask = loss(logits, target, reduction_override='none')
    torch.testing.assert_close(per_mask, 3.0 * (1 - dice))
    torch.testing.assert_close(loss(logits, target), 3.0 * (1 - dice).mean())
    # perfect prediction -> zero loss; activate=False takes probabilities
    prob_loss = _build(dict(type='DiceLoss', activate=False, eps=0.))
    assert prob_loss(target, target).item() == pytest.approx(0.)


def test_mask_bce_weights_positive_pixels():
    logits = torch.zeros(1, 2, 2)
    target = torch.tensor([[[1., 0.], [0., 0.]]])
    loss = _build(dict(type='MaskBCELoss', pos_weight=2.0, loss_weight=10.0))
    ce = F.binary_cross_entropy_with_logits(logits, target, reduction='none')
    expected = 10.0 * (ce * (1 + target)).mean()
    torch.testing.assert_close(loss(logits, target), expected)
    probs = _build(dict(type='MaskBCELoss', activate=False, loss_weight=1.))
    torch.testing.assert_close(
        probs(logits.sigmoid(), target), expected / 10.0, rtol=1e-4, atol=0)


def test_mask_focal_loss_down_weights_easy_pixels():
    loss = _build(dict(type='MaskFocalLoss', loss_weight=20.0))
    target = torch.ones(1, 4, 4)
    easy = loss(torch.full((1, 4, 4), 5.), target)
    hard = loss(torch.full((1, 4, 4), -5.), target)
    assert 0 < easy < hard
    # gamma=0, alpha=0.5 reduces to half the BCE
    plain = _build(
        dict(type='MaskFocalLoss', gamma=0., alpha=0.5, loss_weight=1.))
    logits = torch.randn(2, 4, 4)
    target = (torch.rand(2, 4, 4) > 0.5).float()
    bce = F.binary_cross_entropy_with_logits(logits, target)
    torch.testing.assert_close(plain(logits, target), 0.5 * bce)


def test_dice_rejects_softmax():
    with pytest.raises(ValueError):
        _build(dict(type='DiceLoss', use_sigmoid=False))

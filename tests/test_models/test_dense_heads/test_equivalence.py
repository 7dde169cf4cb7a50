# Copyright (c) mmsolo contributors. All rights reserved.
"""mmsolo's SOLO heads against mmdet 3.x's on the same weights and inputs."""
import copy

import pytest
import torch

from ..equivalence_utils import build_pair, make_batch

KINDS = ['vanilla', 'decoupled', 'light']


def _loss(model, batch):
    data = model.data_preprocessor(copy.deepcopy(batch), True)
    return model.loss(data['inputs'], data['data_samples'])


def _predict(model, batch):
    data = model.data_preprocessor(copy.deepcopy(batch), False)
    with torch.no_grad():
        return [
            s.pred_instances
            for s in model.predict(data['inputs'], data['data_samples'])
        ]


def assert_same_losses(ours, ref, rtol=1e-5, atol=1e-7):
    """Every loss of ``ref`` has the same value in ``ours``."""
    for key, value in ref.items():
        torch.testing.assert_close(ours[key], value, rtol=rtol, atol=atol)


def assert_same_predictions(ref_results, our_results, check_boxes=False):
    for ref, ours in zip(ref_results, our_results):
        assert len(ref) == len(ours)
        assert torch.equal(ref.labels, ours.labels)
        torch.testing.assert_close(ours.scores, ref.scores, atol=1e-4, rtol=0)
        inter = (ref.masks & ours.masks).flatten(1).sum(1).float()
        union = (ref.masks | ours.masks).flatten(1).sum(1).float()
        nonempty = union > 0
        assert (inter[nonempty] / union[nonempty] >= 0.99).all()


@pytest.mark.parametrize('kind', KINDS)
@pytest.mark.parametrize('num_gts', [(5, 2), (0, 0), (1, 0)])
def test_losses_match_mmdet(kind, num_gts):
    ref, ours = build_pair(kind, seed=1)
    ref.train()
    ours.train()
    batch = make_batch(seed=2, num_gts=num_gts)
    ref_losses = _loss(ref, batch)
    our_losses = _loss(ours, batch)
    assert set(our_losses) == set(ref_losses)
    for key, value in ref_losses.items():
        torch.testing.assert_close(
            our_losses[key], value, rtol=1e-5, atol=1e-7)
    # gradients agree too
    sum(ref_losses.values()).backward()
    sum(our_losses.values()).backward()
    ref_params = dict(ref.named_parameters())
    for name, param in ours.named_parameters():
        ref_grad = ref_params[name].grad
        if ref_grad is None:
            continue
        torch.testing.assert_close(
            param.grad, ref_grad, rtol=1e-3, atol=1e-6, msg=name)


@pytest.mark.parametrize('kind', KINDS)
def test_predictions_match_mmdet(kind):
    ref, ours = build_pair(kind, seed=3, cls_bias=-3.2)
    ref.eval()
    ours.eval()
    batch = make_batch(seed=4, num_gts=(0, 0))
    ref_results = _predict(ref, batch)
    our_results = _predict(ours, batch)
    # post-processing really ran: hundreds of candidates, NMS kept many
    assert all(len(r) > 10 for r in ref_results)
    assert_same_predictions(ref_results, our_results)


def test_boxes_are_tight_boxes_of_masks():
    _, ours = build_pair('vanilla', seed=3, cls_bias=-3.2)
    ours.eval()
    results = _predict(ours, make_batch(seed=4, num_gts=(0, 0)))
    for res in results:
        for mask, box in zip(res.masks, res.bboxes):
            if not mask.any():
                assert box.abs().sum() == 0
                continue
            ys, xs = torch.nonzero(mask, as_tuple=True)
            expected = torch.tensor(
                [xs.min(), ys.min(),
                 xs.max() + 1, ys.max() + 1],
                dtype=box.dtype)
            torch.testing.assert_close(box, expected)


@pytest.mark.parametrize('mask_upsample', [2, 4])
def test_lazy_mask_conv_equals_full_mask_conv(mask_upsample):
    _, lazy = build_pair(
        'vanilla', seed=5, cls_bias=-3.2, mask_upsample=mask_upsample)
    _, full = build_pair(
        'vanilla',
        seed=5,
        cls_bias=-3.2,
        lazy_mask_conv=False,
        mask_upsample=mask_upsample)
    full.load_state_dict(lazy.state_dict())
    assert lazy.mask_head.lazy_mask_conv and not full.mask_head.lazy_mask_conv
    batch = make_batch(seed=6, num_gts=(4, 3))
    lazy.train()
    full.train()
    assert_same_losses(_loss(lazy, batch), _loss(full, batch))
    lazy.eval()
    full.eval()
    assert_same_predictions(_predict(full, batch), _predict(lazy, batch))


@pytest.mark.parametrize('kind', KINDS)
def test_gradient_checkpointing_is_exact(kind):
    _, plain = build_pair(kind, seed=7)
    _, cp = build_pair(kind, seed=7, with_cp=True)
    cp.load_state_dict(plain.state_dict())
    batch = make_batch(seed=8, num_gts=(4, 2))
    plain.train()
    cp.train()
    plain_losses, cp_losses = _loss(plain, batch), _loss(cp, batch)
    sum(plain_losses.values()).backward()
    sum(cp_losses.values()).backward()
    for key in plain_losses:
        torch.testing.assert_close(cp_losses[key], plain_losses[key])
    cp_params = dict(cp.named_parameters())
    for name, param in plain.named_parameters():
        if param.grad is not None:
            torch.testing.assert_close(
                cp_params[name].grad, param.grad, msg=name)

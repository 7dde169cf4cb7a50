# Copyright (c) mmsolo contributors. All rights reserved.
"""mmsolo's SOLOv2 head against mmdet 3.3.0's SOLOV2Head on equal weights,
and what it has beyond it (bounded memory, boxes, NMS kinds, TTA)."""
import pytest
import torch

from ..equivalence_utils import build_pair, make_batch
from .test_equivalence import (_loss, _predict, assert_same_losses,
                               assert_same_predictions)


@pytest.mark.parametrize('num_gts', [(5, 2), (0, 0), (1, 0)])
def test_losses_match_mmdet(num_gts):
    ref, ours = build_pair('solov2', seed=1)
    ref.train()
    ours.train()
    batch = make_batch(seed=2, num_gts=num_gts)
    ref_losses = _loss(ref, batch)
    our_losses = _loss(ours, batch)
    assert set(our_losses) == set(ref_losses) == {'loss_mask', 'loss_cls'}
    assert_same_losses(our_losses, ref_losses)
    if sum(num_gts):
        assert our_losses['loss_mask'] > 0
    sum(ref_losses.values()).backward()
    sum(our_losses.values()).backward()
    ref_params = dict(ref.named_parameters())
    for name, param in ours.named_parameters():
        ref_grad = ref_params[name].grad
        if ref_grad is None or not sum(num_gts):
            continue
        torch.testing.assert_close(
            param.grad, ref_grad, rtol=1e-3, atol=1e-6, msg=name)


def test_predictions_match_mmdet():
    ref, ours = build_pair('solov2', seed=3, cls_bias=-2.5)
    ref.eval()
    ours.eval()
    batch = make_batch(seed=4, num_gts=(0, 0))
    ref_results = _predict(ref, batch)
    our_results = _predict(ours, batch)
    # hundreds of candidates went into the post-processing
    data = ours.data_preprocessor(batch, False)
    with torch.no_grad():
        _, cls_preds = ours.mask_head(ours.extract_feat(data['inputs']))
    scores = ours.mask_head.flat_cls_scores(cls_preds)
    assert ((scores > 0.1).sum((1, 2)) > 200).all()
    assert all(len(r) > 10 for r in ref_results)
    assert_same_predictions(ref_results, our_results)
    # real boxes: the masks' tight boxes (mmdet's are zeros)
    for res in our_results:
        for mask, box in zip(res.masks, res.bboxes):
            ys, xs = torch.nonzero(mask, as_tuple=True)
            expected = torch.tensor(
                [xs.min(), ys.min(),
                 xs.max() + 1, ys.max() +
                 1]).to(box) if len(ys) else torch.zeros(4)
            torch.testing.assert_close(box, expected.to(box))
    assert all((r.bboxes == 0).all() for r in ref_results)


def test_checkpoint_loads_strictly_both_ways():
    ref, ours = build_pair('solov2', seed=5)
    assert set(ref.state_dict()) == set(ours.state_dict())
    ref.load_state_dict(ours.state_dict(), strict=True)


def test_unconfident_model_memory_is_bounded(monkeypatch):
    """Every cell scores above the threshold: at most nms_pre masks are ever
    computed at once (mmdet computes them all)."""
    from mmsolo.models.mask_branches import DynamicMaskBranch
    _, ours = build_pair('solov2', seed=6)
    ours.eval()
    torch.nn.init.constant_(ours.mask_head.conv_cls.bias, 40.)
    ours.mask_head.test_cfg.nms_pre = 50
    sizes = []
    original = DynamicMaskBranch.apply_kernels

    def spy(self, kernels, mask_feats):
        sizes.append(kernels.shape[0])
        return original(self, kernels, mask_feats)

    monkeypatch.setattr(DynamicMaskBranch, 'apply_kernels', spy)
    batch = make_batch(seed=7, num_gts=(0, 0))
    results = _predict(ours, batch)
    num_cells = sum(s * s for s in ours.mask_head.num_grids)
    assert all(len(r) > 0 for r in results)
    assert max(sizes) <= 50
    # every cell's mask was scored, in chunks
    assert sum(sizes) >= 2 * num_cells


@pytest.mark.parametrize('nms_type', ['matrix', 'mask'])
def test_both_nms_kinds(nms_type):
    _, ours = build_pair(
        'solov2', seed=3, cls_bias=-2.5, test_cfg=dict(nms_type=nms_type))
    ours.mask_head.test_cfg.nms_type = nms_type
    ours.eval()
    results = _predict(ours, make_batch(seed=4, num_gts=(0, 0)))
    assert all(len(r) > 0 for r in results)
    for r in results:
        assert (r.scores[:-1] >= r.scores[1:]).all()


def test_flip_tta_merged_views_equal_mean_logits():
    """The merged views' masks are the mean logits of the views' masks,
    and the category logits the mean of the views'."""
    from mmsolo.models.test_time_augs import flip_outputs, merge_flip_views
    _, ours = build_pair('solov2', seed=8, cls_bias=-2.5)
    ours.eval()
    head = ours.mask_head
    data = ours.data_preprocessor(make_batch(seed=9, num_gts=(0, 0)), False)
    x = data['inputs']
    with torch.no_grad():
        feats = [ours.extract_feat(x), ours.extract_feat(x.flip(-1))]
        own = head(feats[0])
        back = flip_outputs(head, *head(feats[1]), 'horizontal')
        mask_outs, cls_preds = merge_flip_views(head, feats, ['horizontal'])
        cells = torch.arange(head.num_grids[1]**2)
        img_inds = torch.ones_like(cells)
        merged = head.mask_branch.preds_for_loss(mask_outs[1], 1, img_inds,
                                                 cells)
        own_m = head.mask_branch.preds_for_loss(own[0][1], 1, img_inds, cells)
        back_m = head.mask_branch.preds_for_loss(back[0][1], 1, img_inds,
                                                 cells)
        # the flipped view's mask of cell (i, j) is its mirror cell's
        s = head.num_grids[1]
        mirror = (cells // s) * s + (s - 1 - cells % s)
        flipped = head.mask_branch.preds_for_loss(
            head(feats[1])[0][1], 1, img_inds, mirror)
    torch.testing.assert_close(back_m, flipped.flip(-1))
    torch.testing.assert_close(merged, (own_m + back_m) / 2)
    torch.testing.assert_close(cls_preds[1], (own[1][1] + back[1][1]) / 2)
    ours.mask_head.test_cfg.tta_flips = ('horizontal', 'vertical')
    results = _predict(ours, make_batch(seed=9, num_gts=(0, 0)))
    assert all(len(r) > 0 for r in results)

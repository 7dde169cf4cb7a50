# Copyright (c) mmsolo contributors. All rights reserved.
import numpy as np
import pytest
import torch
from mmdet.structures.mask import BitmapMasks
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData

from mmsolo.models.layers import align_to_grid, make_coord_feats
from mmsolo.registry import MODELS

FEAT_SIZES = [(16, 16), (8, 8), (4, 4), (2, 2), (1, 1)]  # P2-P6 of 64x64


def build_head(kind='SOLOHead', **kw):
    import mmsolo.models  # noqa: F401
    cfg = dict(
        type=kind,
        num_classes=3,
        in_channels=8,
        feat_channels=8,
        stacked_convs=2,
        strides=[8, 8, 16, 32, 32],
        scale_ranges=((1, 24), (12, 48), (24, 96), (48, 192), (96, 2048)),
        num_grids=[8, 6, 4, 3, 2],
        norm_cfg=dict(type='GN', num_groups=2, requires_grad=True),
        loss_mask=dict(
            type='DiceLoss',
            use_sigmoid=True,
            activate=kind == 'SOLOHead',
            loss_weight=3.0))
    cfg.update(kw)
    head = MODELS.build(ConfigDict(cfg))
    head.init_weights()
    return head


def feats(batch=2, sizes=FEAT_SIZES, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, 8, h, w, generator=g) for h, w in sizes]


def gt_instances(num, size=64, seed=0):
    rng = np.random.default_rng(seed)
    masks = np.zeros((num, size, size), np.uint8)
    for i in range(num):
        y, x = rng.integers(0, size - 20, 2)
        h, w = rng.integers(6, 20, 2)
        masks[i, y:y + h, x:x + w] = 1
    bitmap = BitmapMasks(masks, size, size)
    gt = InstanceData()
    gt.masks = bitmap
    gt.bboxes = bitmap.get_bboxes(dst_type='hbox').tensor
    gt.labels = torch.from_numpy(rng.integers(0, 3, num)).long()
    return gt


def metas(batch=2, size=64):
    return [
        dict(
            img_shape=(size, size),
            ori_shape=(size, size),
            pad_shape=(size, size),
            batch_input_shape=(size, size)) for _ in range(batch)
    ]


HEADS = ['SOLOHead', 'DecoupledSOLOHead', 'DecoupledSOLOLightHead']


@pytest.mark.parametrize('kind', HEADS)
def test_empty_gt_gives_cls_loss_only(kind):
    head = build_head(kind)
    outs = head(feats())
    losses = head.loss_by_feat(
        *outs, [gt_instances(0), gt_instances(0)], metas())
    assert losses['loss_cls'] > 0
    assert losses['loss_mask'] == 0
    # still differentiable w.r.t. all mask parameters (DDP-safe)
    (losses['loss_cls'] + losses['loss_mask']).backward()
    for name, p in head.named_parameters():
        assert p.grad is not None, name


@pytest.mark.parametrize('kind', HEADS)
def test_one_gt_gives_both_losses_and_grads_everywhere(kind):
    head = build_head(kind)
    outs = head(feats())
    losses = head.loss_by_feat(
        *outs, [gt_instances(1), gt_instances(0)], metas())
    assert losses['loss_cls'] > 0 and losses['loss_mask'] > 0
    sum(losses.values()).backward()
    for name, p in head.named_parameters():
        assert p.grad is not None, name
        if name.startswith(('conv_mask_list', )) and 'weight' in name:
            continue  # only levels with positives get non-zero gradient
        assert torch.isfinite(p.grad).all(), name
    assert any(p.grad.abs().sum() > 0 for n, p in head.named_parameters()
               if n.startswith(('mask_convs', 'conv_mask')))


@pytest.mark.parametrize('num_coord_convs', [0, 1, 2, 3])
def test_coord_conv_count(num_coord_convs):
    head = build_head(stacked_convs=3, num_coord_convs=num_coord_convs)
    for i, conv in enumerate(head.mask_convs):
        extra = 2 if i < num_coord_convs else 0
        assert conv.conv.in_channels == 8 + extra
    for conv in head.cls_convs:
        assert conv.conv.in_channels == 8
    outs = head(feats())
    assert outs[1][0].shape == (2, 3, 8, 8)
    with pytest.raises(ValueError):
        build_head(stacked_convs=2, num_coord_convs=3)


@pytest.mark.parametrize('depth', [4, 5, 6, 7, 8])
def test_head_depth(depth):
    head = build_head(stacked_convs=depth)
    assert len(head.mask_convs) == len(head.cls_convs) == depth


def test_decoupled_branches_get_one_coordinate():
    head = build_head('DecoupledSOLOHead')
    assert head.mask_convs_x[0].conv.in_channels == 9
    assert head.mask_convs_y[0].conv.in_channels == 9
    light = build_head('DecoupledSOLOLightHead')
    assert light.mask_convs[0].conv.in_channels == 10
    x, y, = light(feats())[0][0]
    assert x.shape == y.shape == (2, 8, 16, 16)


def test_light_head_dcn_in_last_tower_conv():
    head = build_head(
        'DecoupledSOLOLightHead', stacked_convs=3, dcn_cfg=dict(type='DCNv2'))
    from mmcv.ops import ModulatedDeformConv2dPack
    for tower in (head.mask_convs, head.cls_convs):
        assert isinstance(tower[-1].conv, ModulatedDeformConv2dPack)
        assert not isinstance(tower[0].conv, ModulatedDeformConv2dPack)
    outs = head(feats())
    losses = head.loss_by_feat(
        *outs, [gt_instances(2), gt_instances(1)], metas())
    assert torch.isfinite(sum(losses.values()))


@pytest.mark.parametrize('mode', ['interp', 'adaptive_pool', 'region_grid'])
def test_category_alignment_modes(mode):
    feat = torch.randn(2, 4, 13, 17)
    out = align_to_grid(feat, 5, mode)
    assert out.shape == (2, 4, 5, 5)
    const = torch.full((1, 1, 13, 17), 2.5)
    torch.testing.assert_close(
        align_to_grid(const, 5, mode), torch.full((1, 1, 5, 5), 2.5))
    head = build_head(cls_align=mode)
    assert head(feats())[1][2].shape == (2, 3, 4, 4)
    with pytest.raises(ValueError):
        build_head(cls_align='nearest')


def test_region_grid_averages_inside_cells():
    # a left/right step: region-grid averaging sees each half exactly
    feat = torch.zeros(1, 1, 8, 8)
    feat[..., 4:] = 1.
    out = align_to_grid(feat, 2, 'region_grid')
    torch.testing.assert_close(out[0, 0], torch.tensor([[0., 1.], [0., 1.]]))
    assert align_to_grid(feat, 2, 'adaptive_pool')[0, 0, 0, 0] == 0


def test_coord_feats_are_normalised():
    coords = make_coord_feats(torch.zeros(2, 3, 4, 5))
    assert coords.shape == (2, 2, 4, 5)
    torch.testing.assert_close(coords[0, 0, 0], torch.linspace(-1, 1, 5))
    torch.testing.assert_close(coords[0, 1, :, 0], torch.linspace(-1, 1, 4))


def test_single_level_head_with_level_indices():
    head = build_head(
        level_indices=[1],
        strides=[8],
        scale_ranges=((1, 2048), ),
        num_grids=[6])
    outs = head(feats())
    assert len(outs[0]) == 1 and outs[0][0][0].shape[-2:] == (16, 16)
    losses = head.loss_by_feat(
        *outs, [gt_instances(2), gt_instances(1)], metas())
    assert losses['loss_mask'] > 0
    results = head.predict_by_feat(*outs, batch_img_metas=metas())
    assert results[0].masks.shape[-2:] == (64, 64)
    with pytest.raises(ValueError, match='level'):
        build_head(
            strides=[8], scale_ranges=((1, 2048), ), num_grids=[6])(
                feats())


def _confident_head(kind, nms_type='matrix', **test_cfg):
    cfg = dict(
        nms_pre=500,
        score_thr=0.1,
        mask_thr=0.5,
        filter_thr=0.05,
        max_per_img=100,
        nms_type=nms_type)
    cfg.update(test_cfg)
    head = build_head(kind, test_cfg=cfg)
    for name, p in head.named_parameters():
        if name.startswith(('conv_mask_list', 'conv_cls')):
            torch.nn.init.normal_(p, std=0.5)
    head.eval()
    return head


@pytest.mark.parametrize('kind', HEADS)
@pytest.mark.parametrize('nms_type', ['matrix', 'mask'])
def test_predict_outputs(kind, nms_type):
    head = _confident_head(kind, nms_type)
    with torch.no_grad():
        outs = head(feats())
        meta = metas()
        meta[1] = dict(meta[1], img_shape=(60, 50), ori_shape=(120, 100))
        results = head.predict_by_feat(*outs, batch_img_metas=meta)
    assert results[0].masks.shape[-2:] == (64, 64)
    assert results[1].masks.shape[-2:] == (120, 100)
    for res in results:
        assert res.masks.dtype == torch.bool
        assert len(res) <= 100
        assert (res.scores[:-1] >= res.scores[1:]).all()
        assert res.bboxes.shape == (len(res), 4)
    with torch.no_grad():
        small = head.predict_by_feat(
            *outs, batch_img_metas=meta, rescale=False)
    assert small[1].masks.shape[-2:] == (60, 50)


def test_nms_pre_bounds_candidates_and_no_candidates():
    head = _confident_head('SOLOHead', nms_pre=5, max_per_img=3)
    with torch.no_grad():
        res = head.predict_by_feat(*head(feats()), batch_img_metas=metas())
    assert all(len(r) <= 3 for r in res)
    head = _confident_head('SOLOHead', score_thr=1.1)
    with torch.no_grad():
        res = head.predict_by_feat(*head(feats()), batch_img_metas=metas())
    assert len(res[0]) == 0 and res[0].masks.shape == (0, 64, 64)
    assert res[0].bboxes.shape == (0, 4)


def test_bad_test_cfg():
    with pytest.raises(ValueError, match='nms_type'):
        build_head(test_cfg=dict(nms_type='soft'))


def test_masks_to_boxes_matches_mmdet():
    from mmdet.structures.mask import mask2bbox

    from mmsolo.models.layers import masks_to_boxes
    masks = torch.rand(6, 17, 23) > 0.97
    masks[0] = False
    masks[1, 16, 22] = True
    torch.testing.assert_close(masks_to_boxes(masks), mask2bbox(masks))


@pytest.mark.parametrize('kind', HEADS)
def test_mask_upsample_gives_finer_masks(kind):
    paper = build_head(kind)
    fine = build_head(kind, mask_upsample=4, soft_mask_targets=True)
    fine.load_state_dict(paper.state_dict())
    outs, fine_outs = paper(feats()), fine(feats())
    # the same network outputs, masks at twice the resolution
    for a, b in zip(outs[0], fine_outs[0]):
        for x, y in zip(a, b):
            torch.testing.assert_close(x, y)
        h, w = paper.mask_branch.mask_feat_size(a)
        assert fine.mask_branch.mask_feat_size(b) == (2 * h, 2 * w)
    img_inds, cells = torch.tensor([0, 1, 1]), torch.tensor([0, 5, 9])
    coarse = paper.mask_branch.preds_for_loss(outs[0][0], 0, img_inds, cells)
    finer = fine.mask_branch.preds_for_loss(fine_outs[0][0], 0, img_inds,
                                            cells)
    assert finer.shape[-2:] == (32, 32) and coarse.shape[-2:] == (16, 16)
    # the finer masks are the coarse ones' logits up-sampled: averaging
    # them back gives nearly the coarse masks
    pooled = torch.nn.functional.avg_pool2d(finer[:, None], 2)[:, 0]
    if kind == 'SOLOHead':  # logits: compare probabilities
        coarse, pooled = coarse.sigmoid(), torch.nn.functional.avg_pool2d(
            finer.sigmoid()[:, None], 2)[:, 0]
    assert (pooled - coarse).abs().max() < 0.1
    losses = fine.loss_by_feat(
        *fine_outs, [gt_instances(3), gt_instances(1)], metas())
    assert losses['loss_mask'] > 0 and torch.isfinite(losses['loss_mask'])
    sum(losses.values()).backward()
    assert all(p.grad is not None for p in fine.parameters())

    for head in (paper, fine):
        for name, p in head.named_parameters():
            if name.startswith(('conv_mask_list', 'conv_cls')):
                torch.nn.init.normal_(p, std=0.5, generator=None)
    fine.load_state_dict(paper.state_dict())
    paper.eval()
    fine.eval()
    with torch.no_grad():
        res = fine.predict_by_feat(*fine(feats()), batch_img_metas=metas())
        ref = paper.predict_by_feat(*paper(feats()), batch_img_metas=metas())
    assert sum(len(r) for r in res) > 0
    for r, p in zip(res, ref):
        assert r.masks.shape[-2:] == p.masks.shape[-2:] == (64, 64)


@pytest.mark.parametrize('kind', HEADS)
def test_tower_upsample_off_keeps_the_mask_resolution(kind):
    paper = build_head(kind, mask_upsample=4, soft_mask_targets=True)
    cheap = build_head(
        kind, mask_upsample=4, soft_mask_targets=True, tower_upsample=False)
    # the same parameters: only where the output convs run changes
    cheap.load_state_dict(paper.state_dict())
    outs, cheap_outs = paper(feats()), cheap(feats())
    level_feats = cheap.resize_feats(feats())
    for level, (a, b) in enumerate(zip(outs[0], cheap_outs[0])):
        # the branch's outputs at the level's features' resolution ...
        assert b[0].shape[-2:] == level_feats[level].shape[-2:]
        assert a[0].shape[-1] == 2 * b[0].shape[-1]
        # ... and the masks as fine as the paper's branch gives them
        assert cheap.mask_branch.mask_feat_size(b) == \
            paper.mask_branch.mask_feat_size(a)
    img_inds, cells = torch.tensor([0, 1, 1]), torch.tensor([0, 5, 9])
    preds = cheap.mask_branch.preds_for_loss(cheap_outs[0][0], 0, img_inds,
                                             cells)
    # stride 8 / mask_upsample 4: masks at stride 2 of the 64x64 input
    assert preds.shape == paper.mask_branch.preds_for_loss(
        outs[0][0], 0, img_inds, cells).shape == (3, 32, 32)
    losses = cheap.loss_by_feat(
        *cheap_outs, [gt_instances(3), gt_instances(1)], metas())
    assert torch.isfinite(losses['loss_mask']) and losses['loss_mask'] > 0
    sum(losses.values()).backward()
    assert all(p.grad is not None for p in cheap.parameters())
    cheap.eval()
    torch.manual_seed(0)
    for name, p in cheap.named_parameters():
        if name.startswith(('conv_mask_list', 'conv_cls')):
            torch.nn.init.normal_(p, std=0.5)  # confident cells and masks
    with torch.no_grad():
        res = cheap.predict_by_feat(*cheap(feats()), batch_img_metas=metas())
    assert sum(len(r) for r in res) > 0
    assert all(r.masks.shape[-2:] == (64, 64) for r in res)


def test_bad_mask_upsample():
    for bad in (1, 3):
        with pytest.raises(ValueError, match='mask_upsample'):
            build_head(mask_upsample=bad)


@pytest.mark.parametrize('kind', HEADS)
def test_levels_reading_the_same_features_share_the_towers(kind):
    # levels 1-2 read P3 and levels 3-4 read P4: finer features for the
    # coarse levels, the towers run once per distinct feature map
    head = build_head(
        kind, level_indices=[0, 1, 1, 2, 2], strides=[8, 8, 8, 16, 16])
    calls = []
    towers = head.mask_branch.forward_towers

    def counting(feat):
        calls.append(feat.shape[-2:])
        return towers(feat)

    head.mask_branch.forward_towers = counting
    x = feats()
    mask_outs, cls_preds = head(x)
    assert len(calls) == 3
    resized = head.resize_feats(x)
    assert resized[4] is resized[3]  # same size: not interpolated
    for level, feat in enumerate(resized):
        expected = head.mask_branch.forward_level(towers(feat), level)
        for ours, ref in zip(mask_outs[level], expected):
            torch.testing.assert_close(ours, ref)
        assert cls_preds[level].shape[-1] == head.num_grids[level]
    assert mask_outs[2][0].shape[-2:] == (16, 16)  # stride 4 masks
    losses = head.loss_by_feat(
        mask_outs, cls_preds,
        [gt_instances(4), gt_instances(2)], metas())
    assert losses['loss_mask'] > 0


def test_resize_ends_false_keeps_the_neck_strides():
    head = build_head(
        'DecoupledSOLOLightHead',
        level_indices=[0, 1, 1, 2, 2],
        strides=[4, 8, 8, 16, 16],
        resize_ends=False)
    x = feats()
    resized = head.resize_feats(x)
    assert [f.shape[-2:] for f in resized] == [(16, 16), (8, 8), (8, 8),
                                               (4, 4), (4, 4)]
    assert resized[0] is x[0]
    mask_outs, cls_preds = head(x)
    assert mask_outs[0][0].shape[-2:] == (32, 32)  # stride 2 masks
    losses = head.loss_by_feat(
        mask_outs, cls_preds,
        [gt_instances(4), gt_instances(2)], metas())
    assert losses['loss_mask'] > 0
    # the paper's resizing: P2 down-sampled by 2
    assert build_head('DecoupledSOLOLightHead').resize_feats(
        x)[0].shape[-2:] == (8, 8)


@pytest.mark.parametrize('kind', HEADS)
def test_min_area_factor_filters_small_masks(kind):
    counts = {}
    for factor in (0., 1., 1e6):
        head = _confident_head(kind, min_area_factor=factor)
        torch.manual_seed(0)
        with torch.no_grad():
            res = head.predict_by_feat(*head(feats()), batch_img_metas=metas())
        counts[factor] = sum(len(r) for r in res)
    assert counts[1e6] == 0
    assert counts[0.] >= counts[1.] > 0

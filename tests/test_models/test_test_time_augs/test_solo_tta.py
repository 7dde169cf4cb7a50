# Copyright (c) mmsolo contributors. All rights reserved.
"""Flip test-time augmentation: head outputs of flipped inputs mapped back."""
import pytest
import torch

from mmsolo.models.dense_heads.base_solo_head import FLIP_DIMS
from mmsolo.models.test_time_augs import flip_outputs, merge_flip_views
from mmsolo.registry import MODELS
from ..test_dense_heads.test_solo_heads import HEADS, build_head, feats, metas

DIRECTIONS = list(FLIP_DIMS)


def _random_outs(head, seed):
    """Full head outputs of some input (random, so no symmetry hides bugs)."""
    with head.mask_branch.full_outputs():
        mask_outs, cls_preds = head(feats(seed=seed))
    g = torch.Generator().manual_seed(seed + 1)
    mask_outs = [
        tuple(torch.randn(t.shape, generator=g) for t in outs)
        for outs in mask_outs
    ]
    cls_preds = [torch.randn(p.shape, generator=g) for p in cls_preds]
    return mask_outs, cls_preds


@pytest.mark.parametrize('kind', HEADS)
@pytest.mark.parametrize('direction', DIRECTIONS)
def test_flipped_back_cells_hold_the_mirrored_cells_masks(kind, direction):
    head = build_head(kind)
    dims = FLIP_DIMS[direction]
    flip_i, flip_j = -2 in dims, -1 in dims
    # what the head gave for the flipped input
    mask_outs, cls_preds = _random_outs(head, seed=3)
    with head.mask_branch.full_outputs():
        back_masks, back_cls = flip_outputs(head, mask_outs, cls_preds,
                                            direction)
    for level, num_grid in enumerate(head.num_grids):
        cells = torch.arange(num_grid * num_grid)
        rows, cols = cells // num_grid, cells % num_grid
        mirrored = ((num_grid - 1 - rows if flip_i else rows) * num_grid +
                    (num_grid - 1 - cols if flip_j else cols))
        img_inds = torch.ones_like(cells)
        with head.mask_branch.full_outputs():
            ours = head.mask_branch.preds_for_loss(back_masks[level], level,
                                                   img_inds, cells)
            theirs = head.mask_branch.preds_for_loss(mask_outs[level], level,
                                                     img_inds, mirrored)
        # cell (i, j) of the input has the flipped mask of its mirror cell
        torch.testing.assert_close(ours, theirs.flip(dims))
        ours_cls = back_cls[level][1].flatten(1)  # (C, S*S)
        theirs_cls = cls_preds[level][1].flatten(1)[:, mirrored]
        torch.testing.assert_close(ours_cls, theirs_cls)


@pytest.mark.parametrize('kind', HEADS)
def test_flip_back_is_an_involution_and_averaging(kind):
    head = build_head(kind)
    a = _random_outs(head, seed=5)
    for direction in DIRECTIONS:
        twice = flip_outputs(head, *flip_outputs(head, *a, direction),
                             direction)
        for x, y in zip(twice[1], a[1]):
            assert torch.equal(x, y)
        for outs, ref in zip(twice[0], a[0]):
            for x, y in zip(outs, ref):
                assert torch.equal(x, y)
    # merge_flip_views averages the input's logits with the flipped-back ones
    x = feats(seed=11)
    fx = [f.flip(-1) for f in x]
    with head.mask_branch.full_outputs():
        own = head(x)
        back = flip_outputs(head, *head(fx), 'horizontal')
    with head.mask_branch.full_outputs():
        mask_outs, cls_preds = merge_flip_views(head, [x, fx], ['horizontal'])
    for level in range(head.num_levels):
        torch.testing.assert_close(cls_preds[level],
                                   (own[1][level] + back[1][level]) / 2)
        for t, u, v in zip(mask_outs[level], own[0][level], back[0][level]):
            torch.testing.assert_close(t, (u + v) / 2)
    with pytest.raises(ValueError, match='views'):
        merge_flip_views(head, [x], ['horizontal'])


def test_lazy_head_gives_full_outputs_only_inside_the_context():
    head = build_head('SOLOHead', lazy_mask_conv=True)
    outs, _ = head(feats())
    assert outs[0][0].shape[1] == head.feat_channels
    with head.mask_branch.full_outputs():
        outs, _ = head(feats())
    assert outs[0][0].shape[1] == head.num_grids[0]**2
    assert head.lazy_mask_conv


def test_bad_tta_flips():
    with pytest.raises(ValueError, match='tta_flips'):
        build_head('SOLOHead', test_cfg=dict(tta_flips=['sideways']))
    with pytest.raises(ValueError, match='tta_flips'):
        build_head(
            'SOLOHead', test_cfg=dict(tta_flips=['vertical', 'vertical']))


def _detector(kind, **test_cfg):
    """The tiny tool-test SOLO (tests/data/configs) with the given head."""
    import os.path as osp

    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    import mmsolo.models  # noqa: F401
    tiny = osp.join(
        osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'data',
        'configs', 'tiny_solo_shapes.py')
    cfg = Config.fromfile(tiny).model
    cfg.mask_head.type = kind
    cfg.test_cfg.update(test_cfg)
    with DefaultScope.overwrite_default_scope('mmsolo'):
        model = MODELS.build(cfg)
    assert type(model.mask_head).__module__.startswith('mmsolo')
    model.init_weights()
    return model.eval()


@pytest.mark.parametrize('kind', HEADS)
def test_detector_averages_the_views(kind, monkeypatch):
    from mmdet.structures import DetDataSample
    torch.manual_seed(0)
    model = _detector(kind, tta_flips=['horizontal', 'vertical'])
    x = torch.rand(2, 3, 64, 64) * 255
    samples = []
    for meta in metas(2, 64):
        s = DetDataSample()
        s.set_metainfo(meta)
        samples.append(s)
    # the head sees the input's features, then those of each flip
    seen = []
    from mmsolo.models.test_time_augs import solo_tta
    original = solo_tta.merge_flip_views

    def spy(head, mlvl_feats, directions):
        seen.append((mlvl_feats, tuple(directions)))
        return original(head, mlvl_feats, directions)

    monkeypatch.setattr(solo_tta, 'merge_flip_views', spy)
    with torch.no_grad():
        results = model.predict(x, samples)
    (views, directions), = seen
    assert directions == ('horizontal', 'vertical')
    with torch.no_grad():
        for view, dims in zip(views, [(), (-1, ), (-2, )]):
            ref = model.extract_feat(x.flip(dims) if dims else x)
            for a, b in zip(view, ref):
                torch.testing.assert_close(a, b)
    for res in results:
        inst = res.pred_instances
        assert inst.masks.shape[-2:] == (64, 64)
        assert len(inst.scores) == len(inst.labels) == len(inst.bboxes)
    # no flips: the plain prediction, without the TTA path
    model.mask_head.test_cfg.tta_flips = ()
    seen.clear()
    with torch.no_grad():
        model.predict(x, samples)
    assert not seen


def test_tta_model_equals_the_detectors_flip_tta(tmp_path):
    from mmdet.structures import DetDataSample
    from mmengine.runner import load_checkpoint, save_checkpoint

    torch.manual_seed(0)
    model = _detector('DecoupledSOLOLightHead')
    head = model.mask_head
    for conv in (*head.conv_mask_list_x, *head.conv_mask_list_y):
        torch.nn.init.normal_(conv.weight, std=0.3)
        torch.nn.init.constant_(conv.bias, 1.)
    torch.nn.init.normal_(head.conv_cls.weight, std=0.3)
    torch.nn.init.constant_(head.conv_cls.bias, 0.)
    tta = MODELS.build(
        dict(type='SOLOTTAModel', module=model, tta_flips=['vertical']))
    assert tta.tta_flips == ('vertical', )
    data = dict(inputs=[], data_samples=[])
    g = torch.Generator().manual_seed(1)
    for meta in metas(2, 64):
        data['inputs'].append(
            torch.randint(0, 255, (3, 64, 64), generator=g, dtype=torch.uint8))
        s = DetDataSample()
        s.set_metainfo(dict(meta, scale_factor=(1., 1.)))
        data['data_samples'].append(s)
    with torch.no_grad():
        ours = tta.test_step(data)
        model.mask_head.test_cfg.tta_flips = ('vertical', )
        ref = model.test_step(data)
        model.mask_head.test_cfg.tta_flips = ()
        plain = model.test_step(data)
    assert sum(len(a.pred_instances) for a in ours) > 10
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a.pred_instances.scores,
                                   b.pred_instances.scores)
        assert torch.equal(a.pred_instances.masks, b.pred_instances.masks)
    assert any(
        len(a.pred_instances) != len(p.pred_instances)
        or not torch.equal(a.pred_instances.scores, p.pred_instances.scores)
        for a, p in zip(ours, plain))
    # a detector checkpoint loads into the wrapped model (as tools/test.py)
    path = str(tmp_path / 'model.pth')
    save_checkpoint(model.state_dict(), path)
    other = MODELS.build(
        dict(type='SOLOTTAModel', module=_detector('DecoupledSOLOLightHead')))
    load_checkpoint(other, path, strict=True)
    assert other.tta_flips == ('horizontal', )
    with pytest.raises(ValueError, match='tta_flips'):
        MODELS.build(dict(type='SOLOTTAModel', module=model, tta_flips=['up']))
    with pytest.raises(ValueError, match='predict'):
        tta(torch.zeros(1, 3, 64, 64), [], mode='loss')

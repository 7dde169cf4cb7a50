# Copyright (c) mmsolo contributors. All rights reserved.
"""tools/analysis_tools/fit_solo_grid.py and mmsolo.utils.grid_fit."""
import os.path as osp
import sys
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config

from mmsolo.utils import grid_fit

ROOT = Path(__file__).resolve().parents[2]
TINY_CFG = ROOT / 'tests' / 'data' / 'configs' / 'tiny_solo_shapes.py'


def fit(data_root, out, *extra, config=TINY_CFG):
    sys.path.insert(0, str(ROOT / 'tools' / 'analysis_tools'))
    try:
        import fit_solo_grid
    finally:
        sys.path.pop(0)
    return fit_solo_grid.main([
        str(config), '--out',
        str(out), *extra, '--cfg-options',
        f'train_dataloader.dataset.data_root={data_root}'
    ])


@pytest.fixture(scope='module')
def datasets(tmp_path_factory):
    """Two generated sets: many small objects; a few large ones."""
    from mmsolo.datasets.shapes import make_shapes_dataset
    roots = {}
    for name, sizes, objects in (('small', [(6, 12)], (4, 8)),
                                 ('large', [(60, 110)], (1, 2))):
        root = tmp_path_factory.mktemp(name)
        make_shapes_dataset(
            str(root),
            num_train=12,
            num_val=2,
            img_size=(128, 128),
            size_ranges=sizes,
            min_objects=objects[0],
            max_objects=objects[1],
            min_visible_area=4,
            progress=False,
            num_workers=1)
        roots[name] = str(root)
    return roots


def test_proposals_follow_the_data(datasets, tmp_path):
    base = Config.fromfile(str(TINY_CFG)).model.mask_head
    small = fit(datasets['small'], tmp_path / 'small.py')
    small_x4 = fit(datasets['small'], tmp_path / 'small_x4.py', '--max-cost',
                   '4')
    small_x1 = fit(datasets['small'], tmp_path / 'small_x1.py', '--max-cost',
                   '1')
    large = fit(datasets['large'], tmp_path / 'large.py')
    large_shrunk = fit(datasets['large'], tmp_path / 'large_shrunk.py',
                       '--min-factor', '0.5')
    # small instances (median ~9 px, ~2 pixels of the stride-4 masks) get
    # a larger input, within the cost asked for (default 2x the pixels)
    assert 1 < small['factor'] and small['cost'] <= 2
    assert small['scale'][0] % 32 == 0
    assert 1 < small_x4['factor'] <= 2 and small_x4['cost'] <= 4
    assert small_x4['factor'] > small['factor']
    assert small_x1['factor'] == 1 and small_x1['cost'] == 1
    # rounding to 32 pixels never exceeds the cost asked for
    small_x2 = fit(datasets['small'], tmp_path / 'small_x2.py', '--max-cost',
                   '2.25')
    assert 1 < small_x2['factor'] <= 1.5 and small_x2['cost'] <= 2.25
    # large instances keep the input unless shrinking is asked for
    assert large['factor'] == 1 and large['cost'] == 1
    assert large_shrunk['factor'] < 1 and large_shrunk[
        'cost'] == pytest.approx(large_shrunk['factor']**2)
    for result in (small, small_x4, large, large_shrunk):
        # the ranges follow the levels' strides: the config's are kept
        assert result['scale_ranges'] == [tuple(r) for r in base.scale_ranges]
        # grids are never coarser than the config's
        assert all(g >= b for g, b in zip(result['num_grids'], base.num_grids))
        scales = result['stats']['scales'] * result['factor']
        members = grid_fit.level_members(scales, result['scale_ranges'])
        assert len(np.unique(np.concatenate(members))) == len(scales)
    assert osp.isfile(tmp_path / 'small.png')


def test_child_config_builds(datasets, tmp_path):
    from mmengine.registry import init_default_scope

    from mmsolo.registry import MODELS
    result = fit(datasets['large'], tmp_path / 'child.py', '--min-factor',
                 '0.5')
    cfg = Config.fromfile(str(tmp_path / 'child.py'))
    head = cfg.model.mask_head
    assert head.num_grids == result['num_grids']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        resize = [
            s for s in cfg[loader].dataset.pipeline
            if s['type'].endswith('Resize')
        ][0]
        assert tuple(resize['scale']) == result['scale']
    base = Config.fromfile(str(TINY_CFG))
    assert result['scale'][0] < base.img_scale[0]  # down-scaled
    init_default_scope('mmsolo')
    MODELS.build(cfg.model)


def test_resize_inside_a_cached_compose(datasets, tmp_path):
    """The Resize of a pipeline whose loading is cached is found and fitted
    where it is."""
    config = tmp_path / 'cached.py'
    config.write_text(
        f'_base_ = {str(TINY_CFG)!r}\n'
        'train_pipeline = [\n'
        '    dict(type=\'CachedCompose\',\n'
        '         transforms=_base_.train_pipeline[:3]),\n'
        '] + _base_.train_pipeline[3:]\n'
        'train_dataloader = dict(dataset=dict(pipeline=train_pipeline))\n')
    result = fit(datasets['small'], tmp_path / 'child.py', config=config)
    cfg = Config.fromfile(str(tmp_path / 'child.py'))
    cached = cfg.train_dataloader.dataset.pipeline[0]
    assert cached['type'] == 'CachedCompose'
    resize = [s for s in cached['transforms'] if s['type'].endswith('Resize')]
    assert tuple(resize[0]['scale']) == result['scale'] != tuple(
        Config.fromfile(str(TINY_CFG)).img_scale)


def test_input_factor_bounds():
    # 4 px instances are 2 pixels of stride-2 masks: grow to 6 (x3) if the
    # cost bound allows
    tiny = np.full(100, 4.)
    assert grid_fit.propose_input_factor(tiny, 2.) == 1  # no extra cost
    assert grid_fit.propose_input_factor(tiny, 2., max_factor=2) == 2
    assert grid_fit.propose_input_factor(tiny, 2., max_factor=5) == 3
    # 8 px = 4 mask pixels: enough
    assert grid_fit.propose_input_factor(
        np.full(100, 8.), 2., max_factor=5) == 1
    assert grid_fit.propose_input_factor(np.full(100, 30.), 2.) == 1
    # large instances shrink the input only when asked
    assert grid_fit.propose_input_factor(np.full(100, 64.), 2.) == 1
    assert grid_fit.propose_input_factor(
        np.full(100, 64.), 2., min_factor=0.5) == 0.75
    assert grid_fit.propose_input_factor(
        np.full(100, 500.), 2., min_factor=0.5) == 0.5


def test_collision_rate_and_grids():
    # image 0: two centres in one cell of a 2x2 grid, apart in a 4x4 grid
    stats = dict(
        centres=np.array([[0.1, 0.1], [0.3, 0.3], [0.9, 0.9]]),
        image=np.array([0, 0, 0]),
        scales=np.array([10., 10., 10.]))
    members = np.arange(3)
    assert grid_fit.collision_rate(stats, members, 2) == pytest.approx(2 / 3)
    assert grid_fit.collision_rate(stats, members, 4) == 0
    # another image's centre in the same cell is no collision
    stats['image'] = np.array([0, 1, 2])
    assert grid_fit.collision_rate(stats, members, 2) == 0
    stats['image'] = np.array([0, 0, 0])
    ranges = [(1, 100)]
    assert grid_fit.propose_num_grids(stats, ranges, [2], [40], 0.) == [4]
    # a cap (the feature size) wins over the collision rate
    assert grid_fit.propose_num_grids(stats, ranges, [2], [2], 0.) == [2]
    # never coarser than the config's grid
    assert grid_fit.propose_num_grids(stats, ranges, [8], [40], 0.) == [8]


def test_resize_factor_matches_mmcv():
    import mmcv
    img = np.zeros((300, 500, 3), np.uint8)
    fy, fx = grid_fit.resize_factor(300, 500, (1333, 800), True)
    h, w = mmcv.imrescale(img, (1333, 800)).shape[:2]
    assert abs(300 * fy - h) <= 1 and abs(500 * fx - w) <= 1

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


def fit(data_root, out):
    sys.path.insert(0, str(ROOT / 'tools' / 'analysis_tools'))
    try:
        import fit_solo_grid
    finally:
        sys.path.pop(0)
    return fit_solo_grid.main([
        str(TINY_CFG), '--out',
        str(out), '--cfg-options',
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
    small = fit(datasets['small'], tmp_path / 'small.py')
    large = fit(datasets['large'], tmp_path / 'large.py')
    # small objects: a larger input; ranges where the objects are
    assert small['factor'] > 1 and large['factor'] == 1
    assert small['scale_ranges'][-2][1] < large['scale_ranges'][-2][1]
    for result in (small, large):
        scales = result['stats']['scales'] * result['factor']
        members = grid_fit.level_members(scales, result['scale_ranges'])
        # every instance trains some level, and no level is left empty
        assert len(np.unique(np.concatenate(members))) == len(scales)
        assert all(len(m) for m in members)
        # and at most two levels, as with the paper's ranges
        levels = np.bincount(np.concatenate(members), minlength=len(scales))
        assert levels.max() <= 2
    assert osp.isfile(tmp_path / 'small.png')


def test_child_config_builds(datasets, tmp_path):
    from mmengine.registry import init_default_scope

    from mmsolo.registry import MODELS
    result = fit(datasets['small'], tmp_path / 'child.py')
    cfg = Config.fromfile(str(tmp_path / 'child.py'))
    head = cfg.model.mask_head
    assert [tuple(r) for r in head.scale_ranges] == result['scale_ranges']
    assert head.num_grids == result['num_grids']
    resize = [
        s for s in cfg.train_dataloader.dataset.pipeline
        if s['type'].endswith('Resize')
    ][0]
    base = Config.fromfile(str(TINY_CFG))
    assert resize['scale'][0] > base.img_scale[0]  # up-scaled
    assert resize['scale'][0] % 32 == 0
    init_default_scope('mmsolo')
    MODELS.build(cfg.model)


def test_scale_ranges_overlap_as_the_papers():
    # scales a factor of 2 apart per level: 2x overlaps, as the paper's
    wide = np.geomspace(10, 10 * 2**5, 1000)
    ranges = grid_fit.propose_scale_ranges(wide, 5)
    for (_, high), (low, _) in zip(ranges[:-1], ranges[1:]):
        assert high / low == pytest.approx(2, rel=0.1)
    # a narrow distribution: each instance still trains at most two levels
    narrow = np.geomspace(80, 160, 1000)
    ranges = grid_fit.propose_scale_ranges(narrow, 5)
    levels = np.bincount(
        np.concatenate(grid_fit.level_members(narrow, ranges)),
        minlength=len(narrow))
    assert levels.min() >= 1 and levels.max() <= 2


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
    assert grid_fit.propose_num_grids(stats, [(1, 100)], [40], 0.0, 2) == [4]
    # a cap (the feature size) wins over the collision rate
    assert grid_fit.propose_num_grids(stats, [(1, 100)], [2], 0.0, 2) == [2]


def test_resize_factor_matches_mmcv():
    import mmcv
    img = np.zeros((300, 500, 3), np.uint8)
    fy, fx = grid_fit.resize_factor(300, 500, (1333, 800), True)
    h, w = mmcv.imrescale(img, (1333, 800)).shape[:2]
    assert abs(300 * fy - h) <= 1 and abs(500 * fx - w) <= 1

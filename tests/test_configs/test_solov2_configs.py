# Copyright (c) mmsolo contributors. All rights reserved.
"""``configs/solov2/``: mmdet 3.3.0's file names, and models whose weights
are mmdet's (names and shapes), so its model-zoo checkpoints load strictly.
"""
import glob
import os.path as osp

import mmdet
import pytest
import yaml
from mmengine.config import Config
from mmengine.registry import DefaultScope

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_DIR = osp.join(REPO_ROOT, 'configs', 'solov2')
MMDET_DIR = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs', 'solov2')
NAMES = sorted(
    osp.basename(f) for f in glob.glob(osp.join(CONFIG_DIR, '*.py')))


def _shapes(module):
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def _build(cfg_file, part, mmdet_scope):
    from mmdet.registry import MODELS as MMDET_MODELS

    from mmsolo.registry import MODELS
    cfg = Config.fromfile(cfg_file).model
    cfg.backbone.init_cfg = None
    registry = MMDET_MODELS if mmdet_scope else MODELS
    # the scope only while building: later tests build in mmsolo's
    with DefaultScope.overwrite_default_scope(
            'mmdet' if mmdet_scope else 'mmsolo'):
        return registry.build(cfg if part is None else cfg[part])


def test_every_mmdet_config_has_its_namesake():
    theirs = sorted(
        osp.basename(f) for f in glob.glob(osp.join(MMDET_DIR, '*.py')))
    assert theirs and NAMES == theirs


@pytest.mark.parametrize('name', NAMES)
def test_head_weights_are_mmdets(name):
    ours = _build(osp.join(CONFIG_DIR, name), 'mask_head', False)
    ref = _build(osp.join(MMDET_DIR, name), 'mask_head', True)
    assert type(ours).__module__.startswith('mmsolo')
    assert _shapes(ours) == _shapes(ref)
    # the settings that change results are mmdet's too
    for key in ('num_grids', 'strides', 'scale_ranges', 'stacked_convs',
                'feat_channels', 'dcn_apply_to_all_conv'):
        assert list(getattr(ours, key)) == list(getattr(ref, key)) if \
            isinstance(getattr(ref, key), (list, tuple)) else \
            getattr(ours, key) == getattr(ref, key), key
    assert ours.mask_stride == ref.mask_stride
    assert (ours.dcn_cfg is None) == (ref.dcn_cfg is None)


@pytest.mark.parametrize(
    'name',
    ['solov2_r50_fpn_1x_coco.py', 'solov2-light_r18_fpn_ms-3x_coco.py'])
def test_model_weights_and_test_cfg_are_mmdets(name):
    ours = _build(osp.join(CONFIG_DIR, name), None, False)
    ref = _build(osp.join(MMDET_DIR, name), None, True)
    assert _shapes(ours) == _shapes(ref)
    ref_cfg = ref.mask_head.test_cfg
    for key, value in ref_cfg.items():
        assert ours.mask_head.test_cfg[key] == value, key


def test_test_pipelines_are_mmdets():
    for name in NAMES:
        ours = Config.fromfile(osp.join(CONFIG_DIR, name))
        ref = Config.fromfile(osp.join(MMDET_DIR, name))
        scales = [[
            tuple(t['scale']) for t in c.test_dataloader.dataset.pipeline
            if t['type'].split('.')[-1] == 'Resize'
        ] for c in (ours, ref)]
        assert scales[0] == scales[1], name
        assert ours.train_cfg.max_epochs == ref.train_cfg.max_epochs, name


def test_metafile_lists_every_config():
    with open(osp.join(REPO_ROOT, 'model-index.yml')) as f:
        index = yaml.safe_load(f)
    assert 'configs/solov2/metafile.yml' in index['Import']
    with open(osp.join(CONFIG_DIR, 'metafile.yml')) as f:
        meta = yaml.safe_load(f)
    listed = sorted(osp.basename(m['Config']) for m in meta['Models'])
    assert listed == NAMES
    for model in meta['Models']:
        assert osp.exists(osp.join(REPO_ROOT, model['Config']))
        assert 'Weights' not in model or \
            model['Results'][0]['Metrics']['mask AP'] > 0

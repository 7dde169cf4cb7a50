# Copyright (c) mmsolo contributors. All rights reserved.
"""``mmsolo::`` configs through mmengine, and what registering the prefix
asks of the package (``mmsolo.utils.register_all_modules``)."""
import os.path as osp

from mmengine.config import Config

import mmsolo  # noqa: F401  (registers the prefix)

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_prefix_is_registered():
    from mmengine.config.utils import MODULE2PACKAGE
    assert MODULE2PACKAGE['mmsolo'] == 'mmsolo'


def test_registry_without_locations_imports_through_register_all_modules():
    # mmengine calls mmsolo.utils.register_all_modules for the registries of
    # a known package that list no locations (INFERENCERS)
    from mmsolo.registry import INFERENCERS
    assert INFERENCERS.get('NoSuchInferencer') is None


def test_register_all_modules_sets_the_scope():
    from mmengine.registry import DefaultScope

    from mmsolo.registry import MODELS
    from mmsolo.utils import register_all_modules
    register_all_modules()
    assert DefaultScope.get_current_instance().scope_name == 'mmsolo'
    assert MODELS.get('SOLO') is not None
    register_all_modules(init_default_scope=False)


def test_base_from_the_editable_install(tmp_path):
    child = tmp_path / 'child.py'
    child.write_text("_base_ = 'mmsolo::solo/solo_r50_fpn_1x_coco.py'\n"
                     'model = dict(mask_head=dict(num_classes=3))\n')
    cfg = Config.fromfile(str(child))
    assert cfg.model.mask_head.num_classes == 3
    assert cfg.model.mask_head.num_grids == [40, 36, 24, 16, 12]

# Copyright (c) mmsolo contributors. All rights reserved.
"""mmsolo-only options are read from the heads, not kept by hand."""
import pytest

import mmsolo.models  # noqa: F401
from mmsolo.models.dense_heads.mmdet_compat import (mmsolo_only_args,
                                                    to_mmdet_model_cfg)
from mmsolo.registry import MODELS
from ..equivalence_utils import small_solo_cfg, to_mmsolo


def test_mmsolo_only_args_come_from_the_signatures():
    solo = mmsolo_only_args(MODELS.get('SOLOHead'))
    assert solo['lazy_mask_conv'] is True and solo['mask_upsample'] == 2
    assert 'num_grids' not in solo and 'loss_mask' not in solo
    v2 = mmsolo_only_args(MODELS.get('SOLOv2Head'))
    assert 'lazy_mask_conv' not in v2 and 'mask_feature_head' not in v2
    assert v2['soft_mask_targets'] is False


@pytest.mark.parametrize('kind', ['vanilla', 'light', 'solov2'])
def test_to_mmdet_model_cfg(kind):
    from mmdet.registry import MODELS as MMDET_MODELS
    from mmengine.registry import DefaultScope
    ours = to_mmsolo(small_solo_cfg(kind, with_cp=True))
    ours['test_cfg'].update(nms_type='matrix', iou_thr=0.3)
    ref = to_mmdet_model_cfg(ours)
    assert ref['backbone']['type'] == 'ResNet'
    assert 'with_cp' not in ref['mask_head']  # changes how, not what
    assert 'nms_type' not in ref['test_cfg']
    with DefaultScope.overwrite_default_scope('mmdet'):
        head = MMDET_MODELS.build(ref['mask_head'])
    assert type(head).__module__.startswith('mmdet')
    for key, value in (('mask_upsample', 4), ('num_coord_convs', 2)):
        bad = to_mmsolo(small_solo_cfg(kind, **{key: value}))
        with pytest.raises(ValueError, match=key):
            to_mmdet_model_cfg(bad)
    if kind != 'solov2':
        bad = to_mmsolo(small_solo_cfg(kind, tower_upsample=False))
        with pytest.raises(ValueError, match='tower_upsample'):
            to_mmdet_model_cfg(bad)
    bad = dict(ours, test_cfg=dict(ours['test_cfg'], nms_type='mask'))
    with pytest.raises(ValueError, match='nms_type'):
        to_mmdet_model_cfg(bad)

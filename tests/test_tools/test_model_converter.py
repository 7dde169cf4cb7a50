# Copyright (c) mmsolo contributors. All rights reserved.
"""The authors' checkpoint converter, on synthetic state dicts."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mmsolo.registry import MODELS
from tests.test_models.equivalence_utils import small_solo_cfg, to_mmsolo

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / 'tools' / 'model_converters' / 'solo_original_to_mmsolo.py'

# mmsolo name -> the authors' name, per head kind
TO_ORIGINAL = {
    'vanilla': [('mask_convs.', 'ins_convs.'), ('cls_convs.', 'cate_convs.'),
                ('conv_mask_list.', 'solo_ins_list.'),
                ('conv_cls.', 'solo_cate.')],
    'decoupled': [('mask_convs_x.', 'ins_convs_x.'),
                  ('mask_convs_y.', 'ins_convs_y.'),
                  ('cls_convs.', 'cate_convs.'),
                  ('conv_mask_list_x.', 'dsolo_ins_list_x.'),
                  ('conv_mask_list_y.', 'dsolo_ins_list_y.'),
                  ('conv_cls.', 'dsolo_cate.')],
    'light': [('mask_convs.', 'ins_convs.'), ('cls_convs.', 'cate_convs.'),
              ('conv_mask_list_x.', 'dsolo_ins_list_x.'),
              ('conv_mask_list_y.', 'dsolo_ins_list_y.'),
              ('conv_cls.', 'dsolo_cate.')],
}


def _original_state_dict(model, kind):
    out = {}
    for key, value in model.state_dict().items():
        if key.startswith('mask_head.'):
            rest = key[len('mask_head.'):]
            for new, old in TO_ORIGINAL[kind]:
                if rest.startswith(new):
                    rest = old + rest[len(new):]
                    break
            else:
                raise AssertionError(key)
            key = 'bbox_head.' + rest
        # distinct from a fresh init
        out[key] = value + 0.5 if value.is_floating_point() else value
    return out


@pytest.mark.parametrize('kind', ['vanilla', 'decoupled', 'light'])
def test_convert_roundtrip_strict(kind, tmp_path):
    from mmengine.registry import init_default_scope

    import mmsolo.models  # noqa: F401
    init_default_scope('mmsolo')
    model = MODELS.build(to_mmsolo(small_solo_cfg(kind)))
    original = _original_state_dict(model, kind)
    src, dst = tmp_path / 'orig.pth', tmp_path / 'conv.pth'
    torch.save(dict(meta=dict(epoch=36), state_dict=original), src)
    out = subprocess.run(
        [sys.executable, str(SCRIPT),
         str(src), str(dst)],
        capture_output=True,
        text=True,
        check=True).stdout
    assert kind in out
    converted = torch.load(dst, weights_only=True)
    assert converted['meta']['epoch'] == 36
    model.load_state_dict(converted['state_dict'], strict=True)
    for key, value in model.state_dict().items():
        assert torch.equal(value, converted['state_dict'][key])


def test_unknown_head_key_is_refused(tmp_path):
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        from solo_original_to_mmsolo import convert
    finally:
        sys.path.pop(0)
    with pytest.raises(ValueError, match='No SOLO head'):
        convert({'backbone.conv1.weight': torch.zeros(1)})
    with pytest.raises(KeyError, match='bbox_head.mystery'):
        convert({
            'bbox_head.solo_ins_list.0.weight': torch.zeros(1),
            'bbox_head.mystery.weight': torch.zeros(1)
        })

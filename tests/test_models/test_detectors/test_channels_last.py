# Copyright (c) mmsolo contributors. All rights reserved.
"""``SOLO(channels_last=True)`` gives the same losses and predictions."""
import copy

import pytest
import torch
import torch.nn as nn
from mmengine.config import ConfigDict
from mmengine.registry import init_default_scope

from mmsolo.models.layers.memory_format import convert_to_channels_last
from ..equivalence_utils import make_batch, small_solo_cfg, to_mmsolo
from ..test_dense_heads.test_equivalence import (_loss, _predict,
                                                 assert_same_losses,
                                                 assert_same_predictions)


def _build(kind, channels_last, state_dict=None, **head_kw):
    from mmsolo.registry import MODELS
    init_default_scope('mmsolo')
    cfg = to_mmsolo(small_solo_cfg(kind, **head_kw))
    cfg['channels_last'] = channels_last
    torch.manual_seed(11)
    model = MODELS.build(ConfigDict(cfg))
    model.init_weights()
    if state_dict is None:
        for name, param in model.mask_head.named_parameters():
            if name.startswith(('conv_mask_list', 'conv_cls', 'conv_kernel')):
                if name.endswith('weight'):
                    nn.init.normal_(param, std=0.3)
                else:
                    nn.init.constant_(param, -3.2 if 'cls' in name else 0.)
    else:
        model.load_state_dict(state_dict)
    return model


@pytest.mark.parametrize('kind,head_kw', [
    ('vanilla', {}),
    ('decoupled', {}),
    ('light', dict(dcn_cfg=dict(type='DCNv2'))),
    ('solov2', {}),
])
def test_channels_last_matches_contiguous(kind, head_kw):
    plain = _build(kind, False, **head_kw)
    fast = _build(kind, True, copy.deepcopy(plain.state_dict()), **head_kw)
    convs = [
        m for name, m in fast.named_modules()
        if type(m) is nn.Conv2d and 'conv_offset' not in name
    ]
    assert convs and all(
        m.weight.is_contiguous(memory_format=torch.channels_last)
        for m in convs)
    # loading a state dict keeps the format, and the weights
    for name, value in plain.state_dict().items():
        torch.testing.assert_close(fast.state_dict()[name], value)

    batch = make_batch(seed=12, num_gts=(4, 2))
    plain.train()
    fast.train()
    assert_same_losses(
        _loss(fast, batch), _loss(plain, batch), rtol=1e-4, atol=1e-6)
    plain.eval()
    fast.eval()
    ref = _predict(plain, make_batch(seed=13, num_gts=(0, 0)))
    assert all(len(r) > 10 for r in ref)
    ours = _predict(fast, make_batch(seed=13, num_gts=(0, 0)))
    assert_same_predictions(ref, ours)


def test_deform_conv_keeps_nchw():
    """mmcv's DCN reads NCHW memory: it must not see NHWC tensors."""
    from mmcv.ops import ModulatedDeformConv2dPack
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(4, 8, 3, padding=1),
        ModulatedDeformConv2dPack(8, 8, 3, padding=1)).eval()
    nn.init.normal_(net[1].conv_offset.weight, std=0.1)
    x = torch.randn(1, 4, 12, 12)
    expected = net(x)
    convert_to_channels_last(net)
    assert net[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert net[1].weight.is_contiguous()
    assert net[1].conv_offset.weight.is_contiguous()
    out = net(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-5)
    # converting twice registers one hook only
    convert_to_channels_last(net)
    assert len(net[1]._forward_pre_hooks) == 1


def test_group_norm_gets_float32_inputs():
    """GN of channels-last bfloat16 is a slow CPU kernel: it runs in float32.

    The result is GN of the float32 values of its input (no bfloat16
    rounding of the statistics), and the gradient reaches the input.
    """
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(4, 8, 3, padding=1), nn.GroupNorm(4, 8))
    convert_to_channels_last(net)
    convert_to_channels_last(net)  # twice: one hook only
    assert len(net[1]._forward_pre_hooks) == 1
    x = torch.randn(
        2, 8, 6, 6, dtype=torch.bfloat16).contiguous(
            memory_format=torch.channels_last).requires_grad_()
    out = net[1](x)
    assert out.dtype == torch.float32
    torch.testing.assert_close(
        out,
        nn.functional.group_norm(x.detach().float(), 4, net[1].weight,
                                 net[1].bias))
    out.sum().backward()
    assert x.grad is not None and x.grad.dtype == torch.bfloat16
    # float32 inputs pass through unchanged
    y = torch.randn(2, 8, 6, 6)
    torch.testing.assert_close(
        net[1](y), nn.functional.group_norm(y, 4, net[1].weight, net[1].bias))
    # under autocast the whole module still trains
    with torch.autocast('cpu', dtype=torch.bfloat16):
        z = net(
            torch.randn(2, 4, 6,
                        6).contiguous(memory_format=torch.channels_last))
    assert z.dtype == torch.float32
    z.sum().backward()
    assert net[0].weight.grad is not None

# Copyright (c) mmsolo contributors. All rights reserved.
"""``BF16OptimWrapper``: bfloat16 autocast in training, float32 losses."""
import pytest
import torch
import torch.nn as nn
from mmengine.config import ConfigDict
from mmengine.registry import init_default_scope

from mmsolo.engine import BF16OptimWrapper
from tests.test_models.equivalence_utils import (make_batch, small_solo_cfg,
                                                 to_mmsolo)
from tests.test_models.test_dense_heads.test_equivalence import _loss


def _wrapper(model, **kwargs):
    from mmsolo.registry import OPTIM_WRAPPERS
    init_default_scope('mmsolo')
    return OPTIM_WRAPPERS.build(
        dict(
            type='BF16OptimWrapper',
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
            **kwargs))


@pytest.fixture
def native(monkeypatch):
    """This CPU computes bfloat16 natively, whatever the machine's CPU is.

    The wrapper decides from the CPU flags; a test that expects bfloat16
    outputs states that assumption instead of reading the machine (on a CPU
    without AVX512-BF16 or AMX the wrapper correctly trains in float32).
    """
    from mmsolo.engine.optim_wrappers import bf16_optim_wrapper
    monkeypatch.setattr(bf16_optim_wrapper, 'native_bf16', lambda _: True)


def test_autocast_only_inside_the_context(native):
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.LazyLinear(2))
    wrapper = _wrapper(model)
    assert isinstance(wrapper, BF16OptimWrapper)
    x = torch.randn(2, 3, 8, 8)
    with wrapper.optim_context(model):
        out = model(x)
    assert out.dtype == torch.bfloat16
    assert model(x).dtype == torch.float32

    before = [p.detach().clone() for p in model.parameters()]
    wrapper.update_params(out.float().square().mean())
    for p, old in zip(model.parameters(), before):
        assert p.dtype == torch.float32
        assert p.grad is None or p.grad.dtype == torch.float32
        assert not torch.equal(p.detach(), old)


@pytest.mark.parametrize('only_if_native', [True, False])
def test_without_native_bf16(monkeypatch, only_if_native):
    from mmsolo.engine.optim_wrappers import bf16_optim_wrapper
    monkeypatch.setattr(bf16_optim_wrapper, 'native_bf16', lambda _: False)
    model = nn.Conv2d(3, 4, 3)
    wrapper = _wrapper(model, only_if_native=only_if_native)
    with wrapper.optim_context(model):
        out = model(torch.randn(1, 3, 8, 8))
    # float32 where bfloat16 would be emulated, unless forced
    assert out.dtype == (torch.float32 if only_if_native else torch.bfloat16)


@pytest.mark.parametrize(
    'flags,cap,native',
    [
        ({'sse2', 'avx2', 'avx512f', 'avx512bw'}, '', False),  # emulated
        ({'sse2', 'avx512f', 'avx512_bf16'}, '', True),
        ({'sse2', 'amx_bf16'}, '', True),
        # ONEDNN_MAX_CPU_ISA keeps oneDNN below bfloat16's instructions
        ({'sse2', 'avx2', 'avx512f', 'avx512_bf16'}, 'avx2', False),
        ({'sse2', 'avx512f', 'avx512_bf16'}, 'AVX512_CORE', False),
        ({'sse2', 'avx512f', 'avx512_bf16'}, 'AVX512_CORE_BF16', True),
        ({'sse2', 'avx512_bf16', 'amx_bf16'}, 'AVX512_CORE_VNNI', False),
        ({'sse2', 'avx512f', 'avx512_bf16'}, 'not-an-isa', True),
    ])
def test_cpu_bf16_check_reads_x86_flags(monkeypatch, flags, cap, native):
    from mmsolo.engine.optim_wrappers import bf16_optim_wrapper
    from mmsolo.utils import cpu_info
    monkeypatch.setattr(cpu_info, 'cpu_flags', lambda: frozenset(flags))
    monkeypatch.delenv('DNNL_MAX_CPU_ISA', raising=False)
    monkeypatch.setenv('ONEDNN_MAX_CPU_ISA', cap)
    assert bf16_optim_wrapper.cpu_supports_bf16() is native
    assert bf16_optim_wrapper.native_bf16('cpu') is native


def test_rejects_unknown_device_type():
    with pytest.raises(ValueError, match='device_type'):
        _wrapper(nn.Linear(2, 2), device_type='tpu')


@pytest.mark.parametrize('kind', ['vanilla', 'decoupled', 'light'])
def test_solo_losses_are_float32_and_close(native, kind):
    from mmsolo.registry import MODELS
    init_default_scope('mmsolo')
    torch.manual_seed(3)
    model = MODELS.build(ConfigDict(to_mmsolo(small_solo_cfg(kind))))
    model.init_weights()
    model.train()
    batch = make_batch(seed=4, num_gts=(3, 2))
    ref = _loss(model, batch)
    with _wrapper(model).optim_context(model):
        mixed = _loss(model, batch)
    for key, value in ref.items():
        assert mixed[key].dtype == torch.float32, key
        # bfloat16 convolutions: about 3 significant digits
        torch.testing.assert_close(mixed[key], value, rtol=5e-2, atol=1e-3)

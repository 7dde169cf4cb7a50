# Copyright (c) mmsolo contributors. All rights reserved.
"""Mixed precision with ``bfloat16`` autocast, on CPUs as well as GPUs."""
import logging
from contextlib import contextmanager
from typing import Optional

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.optim import OptimWrapper

from mmsolo.registry import OPTIM_WRAPPERS
from mmsolo.utils.cpu_info import usable_cpu_flags


def native_bf16(device_type: str) -> bool:
    """Whether ``device_type`` (``'cpu'`` or ``'cuda'``) computes
    ``bfloat16`` natively, so that autocast to it is faster than float32."""
    if device_type == 'cuda':
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return cpu_supports_bf16()


def cpu_supports_bf16() -> bool:
    """Whether this CPU computes ``bfloat16`` convolutions natively.

    oneDNN emulates ``bfloat16`` on x86 CPUs without AVX512-BF16 or AMX, which
    is slower than ``float32``; mixed precision only pays off where it is
    native. On x86 Linux this reads the CPU flags (PyTorch's own check,
    ``torch.ops.mkldnn._is_mkldnn_bf16_supported``, also accepts AVX512 CPUs
    that only emulate ``bfloat16``), less what ``ONEDNN_MAX_CPU_ISA`` keeps
    oneDNN from using; elsewhere it asks PyTorch.
    """
    flags = usable_cpu_flags()
    if flags is not None and 'sse2' in flags:  # x86
        return bool(flags & {'avx512_bf16', 'amx_bf16'})
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # pragma: no cover
        return False


@OPTIM_WRAPPERS.register_module()
class BF16OptimWrapper(OptimWrapper):
    """An :class:`OptimWrapper` that runs the forward pass under
    ``torch.autocast(dtype=torch.bfloat16)``.

    MMEngine's ``AmpOptimWrapper`` needs a CUDA (or NPU/MLU) device: it
    asserts one is present and scales the loss for ``float16``. ``bfloat16``
    has the exponent range of ``float32``, so it needs no loss scaling, and
    ``torch.autocast`` supports it on CPUs, where oneDNN runs the
    convolutions in ``bfloat16`` on CPUs with AVX512-BF16 or AMX. Weights,
    gradients and optimizer state stay ``float32``; only the autocast ops
    (convolutions, matrix products) compute in ``bfloat16``. The SOLO heads
    compute their losses in ``float32``.

    Example::

        optim_wrapper = dict(
            type='BF16OptimWrapper',
            optimizer=dict(type='AdamW', lr=4e-3, weight_decay=0.05))

    Args:
        device_type (str, optional): ``'cpu'`` or ``'cuda'``. Defaults to
            None: the device of the model's first parameter.
        only_if_native (bool): Where the device has no native ``bfloat16``
            (a CPU without AVX512-BF16 or AMX, a GPU older than Ampere),
            autocast would be slower than float32: train in float32 there
            and say so in the log. False autocasts anyway. Defaults to True.
        **kwargs: The arguments of :class:`mmengine.optim.OptimWrapper`
            (``optimizer``, ``clip_grad``, ``accumulative_counts``).
    """

    def __init__(self,
                 device_type: Optional[str] = None,
                 only_if_native: bool = True,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if device_type not in (None, 'cpu', 'cuda'):
            raise ValueError('device_type must be None, "cpu" or "cuda", '
                             f'not {device_type!r}')
        self.device_type = device_type
        self.only_if_native = only_if_native
        self._enabled = None  # decided on the first step

    def _autocast_enabled(self, device_type: str) -> bool:
        if self._enabled is None:
            self._enabled = not self.only_if_native or native_bf16(device_type)
            if not self._enabled:
                print_log(
                    f'BF16OptimWrapper: this {device_type} has no native '
                    'bfloat16, where autocast is slower than float32; '
                    'training in float32 (only_if_native=False forces '
                    'bfloat16).',
                    logger='current',
                    level=logging.WARNING)
        return self._enabled

    @contextmanager
    def optim_context(self, model: nn.Module):
        """Enter ``bfloat16`` autocast on the model's device.

        Args:
            model (nn.Module): The model being trained.
        """
        device_type = self.device_type
        if device_type is None:
            param = next(model.parameters(), None)
            device_type = 'cpu' if param is None else param.device.type
        enabled = self._autocast_enabled(device_type)
        with super().optim_context(model), torch.autocast(
                device_type=device_type, dtype=torch.bfloat16,
                enabled=enabled):
            yield

# Copyright (c) mmsolo contributors. All rights reserved.
"""What this machine's CPU is, and what of it oneDNN may use."""
import os
from functools import lru_cache
from typing import FrozenSet, Optional

# oneDNN's ISA names (``ONEDNN_MAX_CPU_ISA``), lowest first.
_ONEDNN_ISAS = ('SSE41', 'AVX', 'AVX2', 'AVX2_VNNI', 'AVX2_VNNI_2',
                'AVX512_CORE', 'AVX512_CORE_VNNI', 'AVX512_CORE_BF16',
                'AVX512_CORE_FP16', 'AVX10_1_512', 'AVX512_CORE_AMX',
                'AVX10_1_512_AMX', 'AVX512_CORE_AMX_FP16',
                'AVX10_1_512_AMX_FP16')


def _isa_needed(flag: str) -> Optional[str]:
    """The lowest oneDNN ISA that uses a CPU flag; None for the flags that
    every x86-64 ISA of oneDNN may use."""
    if flag.startswith('amx'):
        return 'AVX512_CORE_AMX'
    if flag == 'avx512_bf16':
        return 'AVX512_CORE_BF16'
    if flag.startswith('avx512'):
        return 'AVX512_CORE'
    return 'AVX2' if flag == 'avx2' else None


@lru_cache(maxsize=1)
def cpu_flags() -> Optional[FrozenSet[str]]:
    """The x86 CPU flags from ``/proc/cpuinfo``; None where unavailable."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('flags'):
                    return frozenset(line.split(':', 1)[1].split())
    except OSError:
        pass
    return None


def onednn_isa_cap() -> Optional[str]:
    """The ISA that ``ONEDNN_MAX_CPU_ISA`` (or ``DNNL_MAX_CPU_ISA``) limits
    oneDNN to, upper case; None where it is unset or not limiting."""
    for name in ('ONEDNN_MAX_CPU_ISA', 'DNNL_MAX_CPU_ISA'):
        cap = os.environ.get(name, '').strip().upper()
        if cap:
            return cap if cap in _ONEDNN_ISAS else None
    return None


def usable_cpu_flags() -> Optional[FrozenSet[str]]:
    """:func:`cpu_flags` less those above ``ONEDNN_MAX_CPU_ISA``: with
    ``ONEDNN_MAX_CPU_ISA=AVX2`` an AVX-512 machine computes as an AVX2-only
    one, and bfloat16 is no longer native."""
    flags = cpu_flags()
    cap = onednn_isa_cap()
    if flags is None or cap is None:
        return flags
    level = _ONEDNN_ISAS.index(cap)
    return frozenset(
        f for f in flags if _isa_needed(f) is None
        or _ONEDNN_ISAS.index(_isa_needed(f)) <= level)

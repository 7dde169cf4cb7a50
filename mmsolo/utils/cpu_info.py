# Copyright (c) mmsolo contributors. All rights reserved.
"""What this machine's CPU is."""
from functools import lru_cache
from typing import FrozenSet, Optional


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

# Copyright (c) mmsolo contributors. All rights reserved.
from .bf16_optim_wrapper import (BF16OptimWrapper, cpu_supports_bf16,
                                 native_bf16)

__all__ = ['BF16OptimWrapper', 'cpu_supports_bf16', 'native_bf16']

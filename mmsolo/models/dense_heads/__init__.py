# Copyright (c) mmsolo contributors. All rights reserved.
from .base_solo_head import BaseSOLOHead
from .decoupled_solo_head import DecoupledSOLOHead, DecoupledSOLOLightHead
from .solo_head import SOLOHead
from .solov2_head import SOLOv2Head

__all__ = [
    'BaseSOLOHead', 'SOLOHead', 'DecoupledSOLOHead', 'DecoupledSOLOLightHead',
    'SOLOv2Head'
]

# Copyright (c) mmsolo contributors. All rights reserved.
# Decoupled SOLO, ResNet-101-FPN, 6x, short side 640-800 scale jitter.
# Paper Table 1: 38.4 mask AP on COCO test-dev.
_base_ = './solo_r101_fpn_6x_coco.py'

model = dict(
    mask_head=dict(
        type='DecoupledSOLOHead',
        # The X/Y towers are cheap to keep but dear to recompute: no head
        # checkpointing (the backbone's stays on).
        with_cp=False,
        # The head multiplies two sigmoids itself: the loss gets probabilities.
        loss_mask=dict(activate=False)))

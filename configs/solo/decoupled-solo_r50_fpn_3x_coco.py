# Copyright (c) mmsolo contributors. All rights reserved.
# Decoupled SOLO, ResNet-50-FPN, 3x, short side 640-800 scale jitter.
# Authors' model zoo (minival): 36.4 mask AP. mmdet model zoo: 36.7.
_base_ = './solo_r50_fpn_3x_coco.py'

model = dict(
    mask_head=dict(
        type='DecoupledSOLOHead',
        # The X/Y towers are cheap to keep but dear to recompute: no head
        # checkpointing (the backbone's stays on).
        with_cp=False,
        # The head multiplies two sigmoids itself: the loss gets probabilities.
        loss_mask=dict(activate=False)))

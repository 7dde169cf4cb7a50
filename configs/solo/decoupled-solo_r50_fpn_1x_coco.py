# Copyright (c) mmsolo contributors. All rights reserved.
# Decoupled SOLO (paper Sec. 4), ResNet-50-FPN, 1x, single-scale training.
# Paper Table 9 (val2017): 33.9 mask AP. mmdet model zoo: 33.9.
_base_ = './solo_r50_fpn_1x_coco.py'

model = dict(
    mask_head=dict(
        type='DecoupledSOLOHead',
        # The X/Y towers are cheap to keep but dear to recompute: no head
        # checkpointing (the backbone's stays on).
        with_cp=False,
        # The head multiplies two sigmoids itself: the loss gets probabilities.
        loss_mask=dict(activate=False)))

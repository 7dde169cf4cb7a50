# Copyright (c) mmsolo contributors. All rights reserved.
# Training schedule "3x": 36 epochs, lr divided by 10 after epochs 27 and 33.
# The paper's default schedule (Sec. 3, "Training details").
# SGD, lr 0.01 for 16 images (8 GPUs x 2), momentum 0.9, weight decay 1e-4,
# linear warm-up over the first 500 iterations from lr / 3 and gradient-norm
# clipping at 35 (both as in the SOLO authors' configs).

_base_ = './schedule_1x.py'

# ========================= Frequently changed values =========================
max_epochs = 36
lr_steps = [27, 33]  # epochs after which lr is multiplied by 0.1

# Only the length and the steps differ from the 1x schedule (same optimizer,
# warm-up, clipping); lists are replaced whole, so the schedulers are
# restated with the new values.
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1.0 / 3,
        by_epoch=False,
        begin=0,
        end=500),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=lr_steps,
        gamma=0.1)
]

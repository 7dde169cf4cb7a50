# Copyright (c) mmsolo contributors. All rights reserved.
# Training schedule "1x": 12 epochs, lr divided by 10 after epochs 8 and 11.
# mmdet's standard 1x steps (8, 11), as mmdet's SOLO 1x; the SOLO authors'
# 1x config (paper Table 9) decays after epochs 9 and 11 instead.
# SGD, lr 0.01 for 16 images (8 GPUs x 2), momentum 0.9, weight decay 1e-4,
# linear warm-up over the first 500 iterations from lr / 3 and gradient-norm
# clipping at 35 (both as in the SOLO authors' configs).

# ========================= Frequently changed values =========================
max_epochs = 12
base_lr = 0.01
lr_steps = [8, 11]  # epochs after which lr is multiplied by 0.1
val_interval = 1

# ============================== Loops ========================================
train_cfg = dict(
    type='EpochBasedTrainLoop',
    max_epochs=max_epochs,
    val_interval=val_interval)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# ============================ Learning rate ==================================
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

# ============================== Optimizer ====================================
# Gradient clipping as in the SOLO authors' configs (mmdet's SOLO configs
# train without it).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=base_lr, momentum=0.9, weight_decay=0.0001),
    clip_grad=dict(max_norm=35, norm_type=2))

# Scale the lr linearly with the total batch size when training with
# `--auto-scale-lr`. `base_batch_size` = (8 GPUs) x (2 images per GPU).
auto_scale_lr = dict(enable=False, base_batch_size=16)

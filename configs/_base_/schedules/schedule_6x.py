# Copyright (c) mmsolo contributors. All rights reserved.
# Training schedule "6x": 72 epochs, lr divided by 10 after epochs 64 and 69.
# The paper's main results (Tables 1 and 6) use "6x" (72 epochs) "following
# TensorMask", whose 6x decays the lr at 480k and 520k of 540k iterations
# (Detectron2's tensormask_R_50_FPN_6x.yaml): at 8/9 and 26/27 of training,
# i.e. after epochs 64 and 69 of 72.
# The paper does not list its 6x steps; the alternative 54/66 (the 3x steps
# 27/33 doubled) is an equally plausible reading - see configs/solo/README.md.
# SGD, lr 0.01 for 16 images (8 GPUs x 2), momentum 0.9, weight decay 1e-4,
# linear warm-up over the first 500 iterations from lr / 3 and gradient-norm
# clipping at 35 (both as in the SOLO authors' configs).

# ========================= Frequently changed values =========================
max_epochs = 72
base_lr = 0.01
lr_steps = [64, 69]  # epochs after which lr is multiplied by 0.1
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

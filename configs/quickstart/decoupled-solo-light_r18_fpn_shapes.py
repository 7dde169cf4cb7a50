# Copyright (c) mmsolo contributors. All rights reserved.
# Quick start with the Decoupled-Light head (the authors' light model): one
# mask tower shared by the X and Y outputs. It learns as fast per iteration as
# decoupled-solo_r18_fpn_shapes.py on the shapes set and each iteration is
# about 20 % cheaper on a CPU, so the main job trains it for more epochs.
_base_ = './decoupled-solo_r18_fpn_shapes.py'

max_epochs = 15  # of 2000 generated images: 3750 iterations
base_lr = 4e-3

model = dict(mask_head=dict(type='DecoupledSOLOLightHead', dcn_cfg=None))

# values computed from max_epochs in the base file, restated
train_cfg = dict(max_epochs=max_epochs, val_interval=4)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min=base_lr * 0.05,
        by_epoch=True,
        begin=0,
        end=max_epochs)
]
default_hooks = dict(checkpoint=dict(interval=max_epochs))

# Copyright (c) mmsolo contributors. All rights reserved.
# Quick start with the Decoupled-Light head (the authors' light model): one
# mask tower shared by the X and Y outputs. It learns as fast per iteration as
# decoupled-solo_r18_fpn_shapes.py on the shapes set and each iteration is
# about 20 % cheaper on a CPU, so the main job trains it for more epochs.
_base_ = './decoupled-solo_r18_fpn_shapes.py'

max_epochs = 15  # of 2000 generated images: 3750 iterations
model = dict(mask_head=dict(type='DecoupledSOLOLightHead', dcn_cfg=None))

train_cfg = dict(max_epochs=max_epochs, val_interval=4)
default_hooks = dict(checkpoint=dict(interval=max_epochs))

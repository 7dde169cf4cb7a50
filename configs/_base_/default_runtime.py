# Copyright (c) mmsolo contributors. All rights reserved.
default_scope = 'mmsolo'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='mmdet.DetVisualizationHook'))
# Reliability checks (mmsolo/engine/hooks): stop at the first NaN/inf loss or
# gradient before anything is saved; reject a dataset with more classes than
# the model and log skipped images; explain checkpoints whose shapes differ
# from the model's. `custom_hooks = []` in a config switches them off.
custom_hooks = [
    dict(type='NonFiniteCheckHook'),
    dict(type='DataCheckHook'),
    dict(type='CheckpointMismatchHook')
]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # On machines without CUDA, tools/train.py and tools/test.py switch this
    # to 'gloo' for distributed runs (see mmsolo/utils/dist.py).
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='mmdet.DetLocalVisualizer',
    vis_backends=vis_backends,
    name='visualizer')
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)

log_level = 'INFO'
load_from = None
resume = False

# `tools/test.py --tta`: flip test-time augmentation, the flips' head outputs
# merged before the post-processing (tta_flips=None: the model's
# test_cfg.tta_flips if it lists any, else horizontal). It reads the plain
# test pipeline, so no tta_pipeline is needed.
tta_model = dict(type='SOLOTTAModel', tta_flips=None)

# Copyright (c) mmsolo contributors. All rights reserved.
"""SOLOv2 trains distributed on CPUs (2 processes, gloo), as SOLO does."""
import os.path as osp

from tests.test_tools.test_dist_train import (DIST_TRAIN, MAX_ITERS, NPROC,
                                              REPO_ROOT, data_options,
                                              load_ckpt, needs_cpu_only,
                                              newest_log, run_script)

TINY_SOLOV2_CFG = osp.join(REPO_ROOT, 'tests', 'data', 'configs',
                           'tiny_solov2_shapes.py')


@needs_cpu_only
def test_dist_train_solov2_on_cpu(shapes_data_root, tmp_path):
    work_dir = str(tmp_path / 'work')
    run_script([
        DIST_TRAIN, TINY_SOLOV2_CFG,
        str(NPROC), '--work-dir', work_dir, '--cfg-options'
    ] + data_options(shapes_data_root), REPO_ROOT)
    log = newest_log(work_dir)
    assert f'GPU number: {NPROC}' in log
    assert "dist_cfg: {'backend': 'gloo'}" in log
    assert f'Iter(train) [{MAX_ITERS}/{MAX_ITERS}]' in log
    ckpt = load_ckpt(osp.join(work_dir, f'iter_{MAX_ITERS}.pth'))
    keys = ckpt['state_dict']
    assert any(k.startswith('mask_head.kernel_convs.') for k in keys)
    assert not any(k.startswith('module.') for k in keys)

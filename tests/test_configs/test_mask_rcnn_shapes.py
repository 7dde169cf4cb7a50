# Copyright (c) mmsolo contributors. All rights reserved.
"""configs/quickstart/mask-rcnn_r18_fpn_shapes.py: mmdet's Mask R-CNN with
the quick-start SOLO's backbone and width trains and evaluates, and goes
through compare_models.py next to the SOLO."""
import os
import os.path as osp
import re
import subprocess
import sys

from mmengine.config import Config

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO_ROOT, 'configs', 'quickstart',
                  'mask-rcnn_r18_fpn_shapes.py')
SOLO = osp.join(REPO_ROOT, 'configs', 'quickstart',
                'decoupled-solo-light_r18_fpn_shapes-192.py')
ENV = dict(os.environ, OMP_NUM_THREADS='1')


def test_same_backbone_width_data_and_schedule_as_the_solo():
    cfg, solo = Config.fromfile(CONFIG), Config.fromfile(SOLO)
    assert cfg.model.type == 'MaskRCNN' and cfg.model._scope_ == 'mmdet'
    for key in ('depth', 'base_channels'):
        assert cfg.model.backbone[key] == solo.model.backbone[key]
    assert cfg.model.neck.out_channels == solo.model.neck.out_channels
    assert cfg.model.roi_head.mask_head.num_classes == len(solo.classes)
    assert cfg.model.roi_head.bbox_head.num_classes == len(solo.classes)
    assert cfg.train_dataloader.dataset == solo.train_dataloader.dataset
    assert cfg.test_dataloader.dataset == solo.test_dataloader.dataset
    assert cfg.train_cfg == solo.train_cfg


def test_trains_and_evaluates(shapes_data_root, tmp_path):
    root = shapes_data_root
    ann = osp.join(root, 'val.json')
    work_dir = tmp_path / 'work'
    proc = subprocess.run(
        [
            sys.executable,
            osp.join(REPO_ROOT, 'tools', 'train.py'),
            CONFIG,
            '--work-dir',
            str(work_dir),
            '--cfg-options',
            f'train_dataloader.dataset.data_root={root}',
            f'val_dataloader.dataset.data_root={root}',
            f'test_dataloader.dataset.data_root={root}',
            f'val_evaluator.ann_file={ann}',
            f'test_evaluator.ann_file={ann}',
            'train_cfg.max_epochs=1',
            'train_cfg.val_interval=1',
            'train_dataloader.batch_size=4',
            'val_dataloader.num_workers=0',
            'val_dataloader.persistent_workers=False',
            # mmsolo's checks (DataCheckHook reads the ROI head's classes)
        ],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert (work_dir / 'epoch_1.pth').is_file()
    assert re.search(r'coco/segm_mAP: [\d.]+', proc.stdout + proc.stderr)


def test_compared_with_the_solo():
    proc = subprocess.run([
        sys.executable,
        osp.join(REPO_ROOT, 'tools', 'analysis_tools',
                 'compare_models.py'), SOLO, CONFIG, '--shape', '96',
        '--warmup', '0', '--repeats', '1', '--names', 'SOLO', 'MaskRCNN'
    ],
                          capture_output=True,
                          text=True,
                          env=ENV,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [
        line.split('|')[1:-1] for line in proc.stdout.splitlines()
        if line.startswith(('| SOLO ', '| MaskRCNN '))
    ]
    assert len(rows) == 2
    params = {r[0].strip(): float(r[1]) for r in rows}
    # same backbone and FPN: the heads make the difference, both small
    assert 0.5 < params['SOLO'] < 10 and 0.5 < params['MaskRCNN'] < 10

# Copyright (c) mmsolo contributors. All rights reserved.
"""The contour quick-start config through tools/train.py, tools/test.py
--show-dir and demo/image_demo.py (one iteration on the tiny shapes set),
and the ContourVisualizer."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import mmcv
import numpy as np
import pytest
import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO_ROOT, 'configs', 'quickstart',
                  'decoupled-solo-light_r18_fpn_shapes_contour.py')
ENV = dict(os.environ, OMP_NUM_THREADS='1')
#: an untrained model scores ~0.01 and its soft masks are smaller: keep
#: everything (whole-image masks), draw everything
KEEP_ALL = [
    'model.test_cfg.score_thr=0.', 'model.test_cfg.mask_thr=0.',
    'model.test_cfg.filter_thr=0.', 'model.test_cfg.max_per_img=5',
    'model.test_cfg.tta_flips=None'
]


def _run(args, cwd):
    proc = subprocess.run([sys.executable, *args],
                          cwd=cwd,
                          env=ENV,
                          capture_output=True,
                          text=True,
                          timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return proc.stdout + proc.stderr


def _near(img: np.ndarray, color: tuple, tol: int = 40) -> int:
    """Pixels of an RGB image within ``tol`` of ``color``."""
    return int((np.abs(img.astype(int) - color).max(-1) <= tol).sum())


@pytest.fixture(scope='module')
def trained(tmp_path_factory, shapes_data_root):
    work_dir = str(tmp_path_factory.mktemp('contour'))
    root = shapes_data_root
    data = [
        f'{loader}.dataset.data_root={root}'
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    ] + [
        f'{evaluator}.0.ann_file={root}/val.json'
        for evaluator in ('val_evaluator', 'test_evaluator')
    ] + [
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False'
    ]
    out = _run([
        'tools/train.py', CONFIG, '--work-dir', work_dir, '--cfg-options',
        'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
        'default_hooks.checkpoint.interval=1', 'val_evaluator.1.score_thr=0',
        *data, *KEEP_ALL
    ], REPO_ROOT)
    return dict(work_dir=work_dir, log=out, data=data, root=root)


def test_trains_with_contours_and_evaluates(trained):
    log = trained['log']
    assert 'loss_mask' in log
    for key in ('boundary/precision', 'boundary/recall', 'boundary/fscore',
                'coco/bbox_mAP'):
        assert key in log
    assert osp.isfile(osp.join(trained['work_dir'], 'epoch_1.pth'))


def test_show_dir_and_demo_draw_contours(trained, tmp_path):
    from mmsolo.visualization import instance_colors
    ckpt = osp.join(trained['work_dir'], 'epoch_1.pth')
    _run([
        'tools/test.py', CONFIG, ckpt, '--work-dir',
        str(tmp_path), '--show-dir', 'vis', '--cfg-options', *trained['data'],
        *KEEP_ALL, 'default_hooks.visualization.score_thr=0'
    ], REPO_ROOT)
    shown = glob.glob(str(tmp_path / '*' / 'vis' / '*'))
    assert len(shown) == 4  # the tiny val set
    out_dir = tmp_path / 'demo'
    image = osp.join(trained['root'], 'val', '000000.jpg')
    _run([
        'demo/image_demo.py', image, CONFIG, '--weights', ckpt, '--out-dir',
        str(out_dir), '--pred-score-thr', '0', '--cfg-options', *KEEP_ALL
    ], REPO_ROOT)
    drawn = mmcv.imread(
        str(out_dir / 'vis' / '000000.png'), channel_order='rgb')
    # drawn opaque in the colours of the instances (not mmdet's class
    # palette, blended): the whole-image masks cover each other
    colors = instance_colors(5)
    assert any(_near(drawn, c, 0) > 1000 for c in colors)
    # ground truth (left, its contours in the instances' colours) |
    # predictions, for every image with objects
    with open(osp.join(trained['root'], 'val.json')) as f:
        coco = json.load(f)
    with_objects = {
        i['file_name']
        for i in coco['images']
        if any(a['image_id'] == i['id'] for a in coco['annotations'])
    }
    assert with_objects
    for path in shown:
        img = mmcv.imread(path, channel_order='rgb')
        if osp.basename(path) in with_objects:
            assert _near(img[:, :img.shape[1] // 2], colors[0]) > 0, path


def test_visualizer_draws_each_instance_in_its_colour():
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    from mmsolo.datasets import mask_contour
    from mmsolo.registry import VISUALIZERS
    from mmsolo.visualization import ContourVisualizer, instance_colors
    vis = VISUALIZERS.build(
        dict(type='ContourVisualizer', name='contour_test', thickness=1))
    assert isinstance(vis, ContourVisualizer)
    vis.dataset_meta = dict(classes=('a', 'b'))
    image = np.zeros((60, 60, 3), np.uint8)
    filled = np.zeros((2, 60, 60), bool)
    filled[0, 5:25, 5:25] = filled[1, 30:55, 30:55] = True
    sample = DetDataSample()
    sample.gt_instances = InstanceData(
        masks=torch.from_numpy(filled), labels=torch.tensor([0, 0]))
    contours = np.stack([mask_contour(m, 2) for m in filled]).astype(bool)
    sample.pred_instances = InstanceData(
        masks=torch.from_numpy(contours),
        labels=torch.tensor([0, 1]),
        scores=torch.tensor([0.9, 0.8]),
        bboxes=torch.zeros(2, 4))
    vis.add_datasample('x', image, sample, draw_gt=True, draw_pred=False)
    gt = vis.get_image()
    vis.add_datasample('x', image, sample, draw_gt=False, pred_score_thr=0.)
    pred = vis.get_image()
    colors = instance_colors(2)
    assert colors[0] != colors[1]
    # (the labels are written above the top edges)
    for i, color in enumerate(colors):
        # predictions: the contour masks as they are (not filled)
        inside = (15, 15) if i == 0 else (42, 42)
        assert not (pred[inside] == color).all()
        assert not (gt[inside] == color).all()
    assert (pred[15:24, 5] == colors[0]).all()  # left edge, instance 0
    assert (pred[45:54, 30] == colors[1]).all()  # left edge, instance 1
    assert (pred[15:24, 6] == colors[0]).all()  # 2 pixels wide
    # ground truth: 1-pixel contours of the filled masks
    assert (gt[15:24, 5] == colors[0]).all()
    assert (gt[45:54, 30] == colors[1]).all()
    assert not (gt[15:24, 6] == colors[0]).any()

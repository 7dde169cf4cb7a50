# Copyright (c) mmsolo contributors. All rights reserved.
"""tools/analysis_tools/analyze_logs.py on a real mmengine log and on a
hand-written one with known times."""
import json
import os.path as osp
import subprocess
import sys

import mmcv
import numpy as np
import pytest
import torch
from torch import nn

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(REPO_ROOT, 'tools', 'analysis_tools', 'analyze_logs.py')
sys.path.insert(0, osp.dirname(SCRIPT))
import analyze_logs  # noqa: E402


class ToyModel(nn.Module):
    """A BaseModel-like regressor logging ``loss`` and ``loss_mask``."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(inputs)
        if mode == 'loss':
            return dict(
                loss_mask=(out - data_samples).pow(2).mean(),
                loss_cls=out.abs().mean() * 0.1)
        return out


@pytest.fixture(scope='module')
def work_dir(tmp_path_factory):
    """A 2-epoch mmengine run that logs every iteration and validates
    every epoch (metric ``coco/segm_mAP``)."""
    from mmengine.evaluator import BaseMetric
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class Model(BaseModel):

        def __init__(self):
            super().__init__()
            self.toy = ToyModel()

        def forward(self, inputs, data_samples=None, mode='tensor'):
            inputs = torch.stack(inputs)
            if mode == 'predict':
                return [dict(pred=p) for p in self.toy(inputs)]
            return self.toy(inputs, torch.stack(data_samples), mode)

    class Metric(BaseMetric):
        default_prefix = 'coco'

        def process(self, data_batch, data_samples):
            self.results += [float(s['pred']) for s in data_samples]

        def compute_metrics(self, results):
            return dict(segm_mAP=float(np.mean(results)))

    data = [(torch.randn(2), torch.randn(1)) for _ in range(8)]
    loader = dict(
        dataset=[dict(inputs=x, data_samples=y) for x, y in data],
        sampler=dict(type='DefaultSampler', shuffle=False),
        collate_fn=dict(type='pseudo_collate'),
        batch_size=2)
    root = str(tmp_path_factory.mktemp('toy_run'))
    runner = Runner(
        model=Model(),
        work_dir=root,
        train_dataloader=loader,
        val_dataloader=loader,
        val_evaluator=[Metric()],
        train_cfg=dict(by_epoch=True, max_epochs=2, val_interval=1),
        val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1)),
        log_processor=dict(window_size=1),
        default_scope='mmengine')
    runner.train()
    return root


def test_help():
    for task in ('plot_curve', 'cal_train_time'):
        proc = subprocess.run([sys.executable, SCRIPT, task, '--help'],
                              capture_output=True,
                              text=True)
        assert proc.returncode == 0 and 'json_logs' in proc.stdout


def test_plot_curve_of_a_real_run(work_dir, tmp_path):
    out = tmp_path / 'curves.png'
    proc = subprocess.run([
        sys.executable, SCRIPT, 'plot_curve', work_dir, '--keys', 'loss',
        'loss_mask', 'coco/segm_mAP', '--out',
        str(out)
    ],
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    picture = mmcv.imread(str(out))
    # two panels: losses against iterations, the metric against epochs
    assert picture.shape[1] > 1.5 * picture.shape[0]
    records = analyze_logs.load_scalars(work_dir)
    x, y, label = analyze_logs.curve(records, 'loss_mask')
    assert label == 'iter' and list(x) == list(range(1, 9))
    x, y, label = analyze_logs.curve(records, 'coco/segm_mAP')
    assert label == 'epoch' and list(x) == [1, 2]
    with pytest.raises(KeyError, match='loss_bbox'):
        analyze_logs.curve(records, 'loss_bbox')


def test_cal_train_time_of_a_real_run(work_dir):
    proc = subprocess.run([sys.executable, SCRIPT, 'cal_train_time', work_dir],
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'slowest epoch' in proc.stdout
    assert 'average iter time' in proc.stdout


def test_cal_train_time_numbers(tmp_path):
    vis = tmp_path / '20260101_000000' / 'vis_data'
    vis.mkdir(parents=True)
    lines = []
    times = {1: [5.0, 1.0, 1.0], 2: [9.0, 2.0, 2.0]}  # first: outlier
    step = 0
    for epoch, epoch_times in times.items():
        for t in epoch_times:
            step += 1
            lines.append(
                dict(
                    lr=0.01,
                    loss=1.0 / step,
                    time=t,
                    epoch=epoch,
                    iter=step,
                    step=step))
        lines.append({'coco/segm_mAP': 0.1 * epoch, 'step': epoch})
    (vis /
     'scalars.json').write_text('\n'.join(json.dumps(line)
                                          for line in lines) + '\n')
    records = analyze_logs.load_scalars(str(tmp_path))
    stats = analyze_logs.train_time(records)
    assert stats['mean'] == pytest.approx(1.5)
    assert stats['epochs'] == {1: 1.0, 2: 2.0}
    assert (stats['slowest'], stats['fastest']) == (2, 1)
    assert stats['std'] == pytest.approx(0.5)
    with_outliers = analyze_logs.train_time(records, include_outliers=True)
    assert with_outliers['mean'] == pytest.approx(20 / 6)
    proc = subprocess.run(
        [sys.executable, SCRIPT, 'cal_train_time',
         str(tmp_path)],
        capture_output=True,
        text=True)
    assert 'slowest epoch 2, average time is 2.0000' in proc.stdout
    assert 'average iter time: 1.5000 s/iter' in proc.stdout

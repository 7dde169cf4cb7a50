# Copyright (c) mmsolo contributors. All rights reserved.
"""tools/analysis_tools/compare_models.py: the tiny SOLO against a tiny mmdet
Mask R-CNN (ResNet-18 with 16 base channels, 32-channel FPN) built here
from mmdet's own config."""
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = osp.join(REPO_ROOT, 'tools')
SCRIPT = osp.join(TOOLS, 'analysis_tools', 'compare_models.py')
TINY_CFG = osp.join(REPO_ROOT, 'tests', 'data', 'configs',
                    'tiny_solo_shapes.py')
CLASSES = ('circle', 'square', 'triangle', 'star')
ENV = dict(os.environ, OMP_NUM_THREADS='1')
sys.path.insert(0, osp.join(TOOLS, 'analysis_tools'))
import get_flops  # noqa: E402


def tiny_mask_rcnn_config(path: str) -> str:
    """mmdet's Mask R-CNN shrunk to the tiny SOLO's backbone and width."""
    cfg = get_flops.load_any_config(
        'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py')
    width = 32
    cfg.merge_from_dict({
        'model.backbone.depth':
        18,
        'model.backbone.base_channels':
        16,
        'model.backbone.init_cfg':
        None,
        'model.neck.in_channels': [16, 32, 64, 128],
        'model.neck.out_channels':
        width,
        'model.rpn_head.in_channels':
        width,
        'model.rpn_head.feat_channels':
        width,
        'model.roi_head.bbox_roi_extractor.out_channels':
        width,
        'model.roi_head.bbox_head.in_channels':
        width,
        'model.roi_head.bbox_head.fc_out_channels':
        64,
        'model.roi_head.bbox_head.num_classes':
        len(CLASSES),
        'model.roi_head.mask_roi_extractor.out_channels':
        width,
        'model.roi_head.mask_head.in_channels':
        width,
        'model.roi_head.mask_head.conv_out_channels':
        width,
        'model.roi_head.mask_head.num_classes':
        len(CLASSES),
        'test_dataloader.dataset.metainfo':
        dict(classes=CLASSES),
        'test_dataloader.num_workers':
        0,
        'test_dataloader.persistent_workers':
        False,
    })
    for transform in cfg.test_dataloader.dataset.pipeline:
        if transform['type'] == 'Resize':
            transform['scale'] = (128, 128)
    cfg.dump(path)
    return path


def random_checkpoint(config: str, path: str) -> str:
    """The config's model with random weights, saved as a checkpoint."""
    cfg = get_flops.load_any_config(config)
    torch.manual_seed(0)
    model = get_flops.build_detector(cfg)
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(dataset_meta=dict(classes=CLASSES))), path)
    return path


def parse_table(text: str) -> list:
    """Rows of the first markdown table of ``text`` as dicts."""
    lines = [line for line in text.splitlines() if line.startswith('| ')]
    header = [c.strip() for c in lines[0].strip('|').split('|')]
    return [
        dict(zip(header, (c.strip() for c in line.strip('|').split('|'))))
        for line in lines[1:] if not line.startswith('| |')
        and len(line.strip('|').split('|')) == len(header)
    ]


@pytest.fixture(scope='module')
def models(tmp_path_factory):
    """(configs, checkpoints) of the tiny SOLO and the tiny Mask R-CNN."""
    root = tmp_path_factory.mktemp('compare')
    mask_rcnn = tiny_mask_rcnn_config(str(root / 'tiny_mask_rcnn.py'))
    configs = [TINY_CFG, mask_rcnn]
    checkpoints = [
        random_checkpoint(c, str(root / f'model{i}.pth'))
        for i, c in enumerate(configs)
    ]
    return configs, checkpoints


def test_help():
    proc = subprocess.run([sys.executable, SCRIPT, '--help'],
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0 and '--checkpoints' in proc.stdout


def test_side_by_side_with_ap(models, shapes_data_root, tmp_path):
    configs, checkpoints = models
    out = tmp_path / 'compare.md'
    proc = subprocess.run(
        [sys.executable, SCRIPT] + configs + ['--checkpoints'] + checkpoints +
        [
            '--data', shapes_data_root, '--shape', '128', '--warmup', '1',
            '--repeats', '3', '--names', 'SOLO', 'Mask R-CNN', '--out',
            str(out)
        ],
        capture_output=True,
        text=True,
        env=ENV)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = {r['model']: r for r in parse_table(out.read_text())}
    assert set(rows) == {'SOLO', 'Mask R-CNN'}
    for name, config in zip(('SOLO', 'Mask R-CNN'), configs):
        row = rows[name]
        model = get_flops.build_detector(get_flops.load_any_config(config))
        params = sum(p.numel() for p in model.parameters())
        assert float(row['params (M)']) == pytest.approx(
            params / 1e6, abs=0.006)
        flops = get_flops.get_complexity(model, (128, 128))['flops']
        assert float(row['FLOPs (G)']) == pytest.approx(flops / 1e9, abs=0.006)
        assert float(row['latency (ms)']) > 0
        assert float(row['peak memory (MB)']) > 0
        assert 0 <= float(row['mask AP']) <= 1
        assert 0 <= float(row['box AP']) <= 1
    # the tiny configs' max_per_img
    assert rows['SOLO']['detections'] == '20'
    assert rows['Mask R-CNN']['detections'] == '100'
    # the same numbers tools/test.py reports for the same weights and data
    test = subprocess.run([
        sys.executable,
        osp.join(TOOLS, 'test.py'), TINY_CFG, checkpoints[0], '--work-dir',
        str(tmp_path / 'test'), '--cfg-options',
        f'test_dataloader.dataset.data_root={shapes_data_root}',
        'test_evaluator.ann_file=' + osp.join(shapes_data_root, 'val.json')
    ],
                          capture_output=True,
                          text=True,
                          env=ENV)
    assert test.returncode == 0, test.stdout[-3000:]
    for key, column in (('bbox', 'box AP'), ('segm', 'mask AP')):
        value = re.findall(rf'coco/{key}_mAP: ([\d.]+)', test.stdout)
        assert value, test.stdout[-2000:]
        assert float(rows['SOLO'][column]) == pytest.approx(
            float(value[-1]), abs=0.0006)


def test_mmdet_prefix_config_in_the_same_run():
    proc = subprocess.run([
        sys.executable, SCRIPT, TINY_CFG,
        'mmdet::solo/solo_r50_fpn_1x_coco.py', '--shape', '64', '--warmup',
        '0', '--repeats', '1'
    ],
                          capture_output=True,
                          text=True,
                          env=ENV)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = {r['model']: r for r in parse_table(proc.stdout)}
    assert set(rows) == {'tiny_solo_shapes', 'solo_r50_fpn_1x_coco'}
    assert float(rows['solo_r50_fpn_1x_coco']['params (M)']) > 30


def test_arguments_are_checked(models):
    configs, checkpoints = models
    proc = subprocess.run(
        [sys.executable, SCRIPT] + configs + ['--checkpoints', checkpoints[0]],
        capture_output=True,
        text=True)
    assert proc.returncode == 2 and 'one checkpoint per config' in \
        proc.stderr

# Copyright (c) mmsolo contributors. All rights reserved.
"""The quick-start configs: they build, and SOLO learns on generated data."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = [
    'solo_r18_fpn_shapes.py', 'decoupled-solo_r18_fpn_shapes.py',
    'decoupled-solo-light_r18_fpn_shapes.py', 'solov2_r18_fpn_shapes.py'
]


def _cfg(name, data_root, work_dir):
    cfg = Config.fromfile(str(ROOT / 'configs' / 'quickstart' / name))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = data_root
        cfg[loader].num_workers = 0
        cfg[loader].persistent_workers = False
    cfg.val_evaluator.ann_file = data_root + '/val.json'
    cfg.test_evaluator.ann_file = data_root + '/val.json'
    cfg.work_dir = str(work_dir)
    return cfg


@pytest.mark.parametrize('name', CONFIGS)
def test_quickstart_config_top_level_variables(name):
    cfg = Config.fromfile(str(ROOT / 'configs' / 'quickstart' / name))
    from mmsolo.datasets.shapes import SHAPES_CLASSES
    assert tuple(cfg.classes) == SHAPES_CLASSES
    assert cfg.num_classes == len(cfg.classes)
    assert cfg.model.mask_head.num_classes == cfg.num_classes
    assert cfg.train_dataloader.dataset.data_root == cfg.data_root
    assert cfg.model.backbone.init_cfg is None  # no ImageNet download
    assert cfg.model.backbone.depth == 18


@pytest.mark.parametrize('name', CONFIGS)
def test_short_training_lowers_the_loss(name, shapes_data_root, tmp_path):
    """A few steps on the same generated batch reduce the loss."""
    import mmsolo  # noqa: F401
    init_default_scope('mmsolo')
    cfg = _cfg(name, shapes_data_root, tmp_path)
    cfg.train_dataloader.batch_size = 2
    runner = Runner.from_cfg(cfg)
    model = runner.model
    model.train()
    data = next(iter(runner.train_dataloader))
    optim = torch.optim.AdamW(model.parameters(), lr=2e-3)
    torch.manual_seed(0)
    losses = []
    for _ in range(12):
        batch = model.data_preprocessor(data, True)
        loss = sum(model.loss(batch['inputs'], batch['data_samples']).values())
        optim.zero_grad()
        loss.backward()
        optim.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0], losses


def _guide_child_configs(tmp_path):
    """The child configs of docs/user_guides/custom_dataset.md, loaded."""
    guide = (ROOT / 'docs' / 'user_guides' / 'custom_dataset.md').read_text()
    head = "```python\n_base_ = './solo_r18_fpn_shapes.py'"
    cfgs, start = [], guide.find(head)
    while start >= 0:
        body = guide[start + len('```python\n'):guide.index('```', start + 9)]
        child = (
            ROOT / 'configs' / 'quickstart' /
            f'_test_child_{len(cfgs)}_{tmp_path.name}.py')
        child.write_text(body)
        try:
            cfgs.append(Config.fromfile(str(child)))
        finally:
            child.unlink()
        start = guide.find(head, start + 1)
    return cfgs


def test_custom_dataset_guide_child_config(tmp_path):
    """The ten-line child config of docs/user_guides/custom_dataset.md and
    its variant for photos of upright things."""
    cfgs = _guide_child_configs(tmp_path)
    assert len(cfgs) == 2
    base = Config.fromfile(
        str(ROOT / 'configs' / 'quickstart' / 'solo_r18_fpn_shapes.py'))
    types = [t['type'] for t in cfgs[0].train_dataloader.dataset.pipeline]
    assert 'RandomTranspose' in types  # inherited: the shapes' pipeline
    assert cfgs[0].model.test_cfg.tta_flips == base.model.test_cfg.tta_flips
    upright = cfgs[1]
    pipeline = upright.train_dataloader.dataset.pipeline
    assert 'RandomTranspose' not in [t['type'] for t in pipeline]
    flips = [t for t in pipeline if t['type'] == 'mmdet.RandomFlip']
    assert len(flips) == 1 and flips[0].prob == 0.5
    assert 'direction' not in flips[0]  # horizontal, mmdet's default
    assert upright.model.test_cfg.tta_flips == ['horizontal']
    # the rest of the test settings are inherited
    assert upright.model.test_cfg.score_thr == base.model.test_cfg.score_thr
    for cfg in cfgs:
        _check_child_config(cfg)


def _check_child_config(cfg):
    assert cfg.model.mask_head.num_classes == 2
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = cfg[loader].dataset
        assert dataset.data_root == 'data/my_dataset/'
        assert tuple(dataset.metainfo.classes) == ('cat', 'dog')
        assert dataset.ann_file in ('train.json', 'val.json')
    assert cfg.val_evaluator.ann_file == 'data/my_dataset/val.json'
    assert cfg.test_evaluator.ann_file == 'data/my_dataset/val.json'


@pytest.mark.parametrize('name', CONFIGS)
def test_cosine_decay_ends_with_the_train_loop(name, shapes_data_root,
                                               tmp_path):
    """The schedule follows train_cfg.max_epochs, also from --cfg-options."""
    import mmsolo  # noqa: F401
    init_default_scope('mmsolo')
    cfg = _cfg(name, shapes_data_root, tmp_path)
    for max_epochs in (cfg.train_cfg.max_epochs, 3):
        cfg.merge_from_dict({'train_cfg.max_epochs': max_epochs})
        runner = Runner.from_cfg(cfg)
        runner._train_loop = runner.build_train_loop(runner._train_loop)
        runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
        cosine = runner.build_param_scheduler(runner.param_schedulers)[1]
        # updated every iteration, over the whole train loop
        iters = max_epochs * len(runner.train_dataloader)
        assert not cosine.by_epoch
        assert cosine.begin == 0
        assert cosine.T_max == cosine.end == iters
        assert cosine.eta_min == pytest.approx(cfg.base_lr * 0.05)


def test_quickstart_script_end_to_end_with_cfg_options(tmp_path):
    """The main job, tiny: --cfg-options reach the test and the pictures.

    The options change the model's width, so evaluating with the unchanged
    config would load mismatched weights.
    """
    from mmsolo.datasets.shapes import make_shapes_dataset
    from tests.test_tools.test_train_test import run_tool
    work_dir = tmp_path / 'work'
    # a user's COCO-format set (not written by the quick start), kept as is
    make_shapes_dataset(
        str(tmp_path / 'mine'), num_train=8, num_val=4, num_workers=1)
    (tmp_path / 'mine' / 'shapes_meta.json').unlink()
    proc = run_tool([
        str(ROOT / 'tools' / 'misc' / 'quickstart.py'), '--work-dir',
        str(work_dir), '--data-root',
        str(tmp_path / 'mine'), '--keep-data', '--num-vis', '2',
        '--cfg-options', 'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
        'train_dataloader.batch_size=4', 'model.neck.out_channels=32',
        'model.mask_head.in_channels=32', 'model.mask_head.feat_channels=32'
    ], str(tmp_path))
    assert 'do not match exactly' not in proc.stdout  # weights loaded whole
    assert 'size mismatch' not in proc.stdout
    assert '[quickstart] mask AP' in proc.stdout
    test_cfgs = list((work_dir / 'test').glob('*.py'))
    assert test_cfgs
    assert Config.fromfile(str(test_cfgs[0])).model.neck.out_channels == 32
    assert len(list((work_dir / 'predictions' / 'vis').glob('*.png'))) == 2
    assert (work_dir / 'curves.png').is_file()
    assert (work_dir / 'quickstart_summary.json').is_file()


def test_quickstart_script_overwrites_no_dataset(tmp_path):
    """A data root that the generator did not write is left alone."""
    from tests.test_tools.test_train_test import run_tool
    (tmp_path / 'mine').mkdir()
    ann = tmp_path / 'mine' / 'train.json'
    ann.write_text('{"images": []}')
    proc = run_tool([
        str(ROOT / 'tools' / 'misc' / 'quickstart.py'), '--data-root',
        str(tmp_path / 'mine'), '--work-dir',
        str(tmp_path / 'work')
    ],
                    str(tmp_path),
                    check=False)
    assert proc.returncode != 0
    assert 'nothing is overwritten' in proc.stdout
    assert ann.read_text() == '{"images": []}'
    assert sorted(p.name
                  for p in (tmp_path / 'mine').iterdir()) == ['train.json']


def test_quickstart_script_fits_its_budget(tmp_path):
    """--budget-min: a calibration run, then the epochs that fit."""
    import json
    import time

    from tests.test_tools.test_train_test import run_tool
    work_dir = tmp_path / 'work'
    start = time.time()
    proc = run_tool([
        str(ROOT / 'tools' / 'misc' / 'quickstart.py'), '--work-dir',
        str(work_dir), '--data-root',
        str(tmp_path / 'shapes'), '--num-train', '8', '--num-val', '4',
        '--num-vis', '1', '--budget-min', '0.6', '--cfg-options',
        'train_dataloader.batch_size=4', 'model.neck.out_channels=16',
        'model.mask_head.in_channels=16', 'model.mask_head.feat_channels=16'
    ], str(tmp_path))
    took = time.time() - start
    assert 'epochs fit in the 0.6 min budget' in proc.stdout
    summary = json.loads((work_dir / 'quickstart_summary.json').read_text())
    assert summary['budget_seconds'] == 36
    assert summary['epochs'] >= 1 and summary['precision'] in ('bfloat16',
                                                               'float32')
    assert (work_dir / f'epoch_{summary["epochs"]}.pth').is_file()
    # the name the docs use, whatever epoch the budget ended at
    latest = work_dir / 'latest.pth'
    assert latest.resolve() == (work_dir / f'epoch_{summary["epochs"]}.pth')
    assert '[quickstart] CPU: ' in proc.stdout and 'trained in' in proc.stdout
    # the job ends near its budget (the machine may be busy: generously)
    assert took < 36 * 2.5, took


def test_link_latest_replaces_an_older_link(tmp_path):
    quickstart = _import_quickstart()
    for epoch in (3, 5):
        (tmp_path / f'epoch_{epoch}.pth').write_bytes(b'%d' % epoch)
        latest = quickstart.link_latest(str(tmp_path / f'epoch_{epoch}.pth'))
    assert latest == str(tmp_path / 'latest.pth')
    assert (tmp_path / 'latest.pth').read_bytes() == b'5'


def _import_quickstart():
    """tools/misc/quickstart.py as a module."""
    import sys
    sys.path.insert(0, str(ROOT / 'tools' / 'misc'))
    try:
        import quickstart
    finally:
        sys.path.pop(0)
    return quickstart


def test_quickstart_points_every_evaluator_at_the_data():
    """A list of metrics (the contour quick start's) gets the data root in
    each metric that reads an annotation file."""
    quickstart = _import_quickstart()
    contour = Config.fromfile(
        str(ROOT / 'configs' / 'quickstart' /
            'decoupled-solo-light_r18_fpn_shapes_contour.py'))
    contour_opts = quickstart.data_options(contour, '/d')
    opts = contour_opts
    assert 'val_evaluator.0.ann_file=/d/val.json' in opts
    assert 'test_evaluator.0.ann_file=/d/val.json' in opts
    assert not any(o.startswith('val_evaluator.1') for o in opts)
    default = Config.fromfile(
        str(ROOT / 'configs' / 'quickstart' /
            'decoupled-solo-light_r18_fpn_shapes.py'))
    opts = quickstart.data_options(default, '/d')
    assert 'val_evaluator.ann_file=/d/val.json' in opts
    assert 'train_dataloader.dataset.data_root=/d/' in opts
    # the options merge into the config as tools/train.py merges them
    contour.merge_from_dict(dict(o.split('=', 1) for o in contour_opts))
    assert contour.val_evaluator[0].ann_file == '/d/val.json'


def test_quickstart_points_a_wrapped_dataset_at_the_data():
    """Inside a dataset wrapper (``MultiImageMixDataset``) the options reach
    the dataset that reads the files, not the wrapper."""
    quickstart = _import_quickstart()
    cfg = Config.fromfile(
        str(ROOT / 'configs' / 'quickstart' /
            'decoupled-solo-light_r18_fpn_shapes.py'))
    inner = cfg.train_dataloader.dataset
    cfg.train_dataloader.dataset = dict(
        type='mmdet.MultiImageMixDataset', dataset=inner, pipeline=[])
    assert quickstart.dataset_key(
        cfg, 'train_dataloader') == 'train_dataloader.dataset.dataset'
    assert quickstart.dataset_key(cfg,
                                  'val_dataloader') == 'val_dataloader.dataset'
    opts = quickstart.data_options(cfg, '/d')
    cfg.merge_from_dict(dict(o.split('=', 1) for o in opts))
    assert cfg.train_dataloader.dataset.dataset.data_root == '/d/'
    assert 'data_root' not in cfg.train_dataloader.dataset
    assert cfg.val_dataloader.dataset.data_root == '/d/'


def test_copy_paste_config_adds_objects(shapes_data_root, tmp_path):
    """The copy-paste quick start's images carry more objects than their
    annotations (pasted from the images seen before), with masks and boxes
    for each."""
    import mmsolo  # noqa: F401
    init_default_scope('mmsolo')
    cfg = _cfg('decoupled-solo-light_r18_fpn_shapes_copy-paste.py',
               shapes_data_root, tmp_path)
    assert 'CachedCopyPaste' in [t.type for t in cfg.train_pipeline]
    dataset = Runner.build_dataloader(cfg.train_dataloader).dataset
    extra = 0
    for i in range(8):
        sample = dataset[i]['data_samples']
        annotated = len(dataset.get_data_info(i)['instances'])
        gt = sample.gt_instances
        assert len(gt.masks) == len(gt.bboxes) == len(gt.labels)
        # objects may be hidden by pasted ones, never more than pasted
        extra += len(gt) - annotated
    assert extra > 0

# Copyright (c) mmsolo contributors. All rights reserved.
"""Every config under ``configs/solo/`` loads, builds and runs.

The configs are discovered with a glob, so a new config is covered without
editing this file. Models are built from the real configs with the widths
shrunk (ResNet ``base_channels``, FPN and head channels, GN groups) but the
depths, DCN, head type, number of head convs, grids and losses kept, so each
case stays well under a few seconds on a CPU.
"""
import copy
import glob
import math
import os.path as osp
import re

import mmcv
import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.config import Config, ConfigDict
from mmengine.dataset import Compose
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

from mmsolo.registry import (DATA_SAMPLERS, DATASETS, LOOPS, METRICS, MODELS,
                             OPTIM_WRAPPERS, OPTIMIZERS, PARAM_SCHEDULERS,
                             TRANSFORMS)

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SOLO_CONFIG_DIR = osp.join(REPO_ROOT, 'configs', 'solo')
CONFIG_FILES = sorted(
    glob.glob(osp.join(SOLO_CONFIG_DIR, '**', '*.py'), recursive=True))
CONFIG_IDS = [osp.relpath(f, SOLO_CONFIG_DIR) for f in CONFIG_FILES]

# Shrunk widths used to build the models.
BASE_CHANNELS = 8  # ResNet stages give 32, 64, 128, 256 channels
FPN_CHANNELS = 32
GN_GROUPS = 8
BOTTLENECK_EXPANSION = 4
SCHEDULE_EPOCHS = {'1x': 12, '3x': 36, '6x': 72}


@pytest.fixture(autouse=True)
def mmsolo_scope():
    """Build everything in the scope the configs declare."""
    init_default_scope('mmsolo')


def load(config_file: str) -> Config:
    """Load a config file.

    Args:
        config_file (str): Path of the config.

    Returns:
        Config: The loaded config.
    """
    return Config.fromfile(config_file)


def shrink_model_cfg(model_cfg: ConfigDict) -> ConfigDict:
    """Make a config's model cheap to build and run on a CPU.

    Only widths change: backbone depth, ``out_indices``, DCN, head type,
    ``stacked_convs``, grids, strides, scale ranges and losses are kept.

    Args:
        model_cfg (ConfigDict): ``cfg.model`` of a SOLO config.

    Returns:
        ConfigDict: A shrunk copy.
    """
    cfg = copy.deepcopy(model_cfg)
    backbone = cfg.backbone
    assert backbone.type == 'mmdet.ResNet', backbone.type
    backbone.init_cfg = None  # no pretrained weights in tests
    backbone.base_channels = BASE_CHANNELS
    out_indices = backbone.get('out_indices', (0, 1, 2, 3))
    cfg.neck.in_channels = [
        BASE_CHANNELS * BOTTLENECK_EXPANSION * 2**i for i in out_indices
    ]
    cfg.neck.out_channels = FPN_CHANNELS
    head = cfg.mask_head
    head.in_channels = FPN_CHANNELS
    head.feat_channels = FPN_CHANNELS
    head.norm_cfg = dict(type='GN', num_groups=GN_GROUPS, requires_grad=True)
    return cfg


def make_batch(num_classes: int, seed: int = 0) -> dict:
    """A batch of two images as a dataloader would give it.

    The images have different sizes (so the data preprocessor pads) and
    were "resized" by 2 from their original size, so predictions must be
    rescaled back to ``ori_shape``.

    Args:
        num_classes (int): Labels are drawn from ``range(num_classes)``.
        seed (int): Seed of the random content.

    Returns:
        dict: ``inputs`` (list of uint8 CHW tensors) and ``data_samples``.
    """
    rng = np.random.default_rng(seed)
    inputs, data_samples = [], []
    for h, w in [(128, 128), (96, 128)]:
        inputs.append(
            torch.from_numpy(rng.integers(0, 256, (3, h, w), dtype=np.uint8)))
        num_gts = 3
        masks = np.zeros((num_gts, h, w), dtype=np.uint8)
        for k in range(num_gts):
            bh, bw = rng.integers(12, h // 2), rng.integers(12, w // 2)
            y0, x0 = rng.integers(0, h - bh), rng.integers(0, w - bw)
            masks[k, y0:y0 + bh, x0:x0 + bw] = 1
        bitmap = BitmapMasks(masks, h, w)
        sample = DetDataSample(
            metainfo=dict(
                img_id=len(inputs),
                img_shape=(h, w),
                ori_shape=(h // 2, w // 2),
                scale_factor=(2.0, 2.0)))
        sample.gt_instances = InstanceData(
            bboxes=bitmap.get_bboxes('hbox').tensor.float(),
            labels=torch.from_numpy(rng.integers(0, num_classes, num_gts)),
            masks=bitmap)
        data_samples.append(sample)
    return dict(inputs=inputs, data_samples=data_samples)


def resize_entries(pipeline: list) -> list:
    """The scales a pipeline resizes to.

    Args:
        pipeline (list[dict]): Transform configs.

    Returns:
        list[tuple]: Every ``scale`` / ``scales`` entry, as (long, short).
    """
    scales = []
    for t in pipeline:
        if t['type'].endswith('RandomChoiceResize'):
            scales += [tuple(s) for s in t['scales']]
        elif t['type'].endswith('Resize'):
            scales.append(tuple(t['scale']))
    return scales


def test_configs_are_found():
    names = {osp.basename(f) for f in CONFIG_FILES}
    for required in [
            'solo_r50_fpn_1x_coco.py', 'solo_r50_fpn_3x_coco.py',
            'decoupled-solo_r50_fpn_1x_coco.py',
            'decoupled-solo-light_r50_fpn_3x_coco.py'
    ]:
        assert required in names
    assert any(osp.dirname(f).endswith('ablations') for f in CONFIG_FILES)


@pytest.mark.parametrize('config_file', CONFIG_FILES, ids=CONFIG_IDS)
def test_config_matches_its_name(config_file):
    """The file name ``{algo}_{backbone}_{neck}_..._{schedule}_coco`` is
    true to the content."""
    cfg = load(config_file)
    name = osp.basename(config_file)[:-3]
    assert cfg.default_scope == 'mmsolo'
    model = cfg.model
    assert model.type == 'SOLO'

    # backbone: depth, matching pretrained weights, DCN
    depth = int(re.search(r'_r(\d+)', name).group(1))
    backbone = model.backbone
    assert backbone.depth == depth
    assert backbone.init_cfg.type == 'Pretrained'
    assert backbone.init_cfg.checkpoint == f'torchvision://resnet{depth}'
    if '-dcn' in name:
        assert backbone.dcn is not None
        assert tuple(backbone.stage_with_dcn) == (False, True, True, True)
    else:
        assert backbone.get('dcn') is None
    # the neck takes the channels the ResNet-50/101 stages give
    out_indices = backbone.get('out_indices', (0, 1, 2, 3))
    assert list(model.neck.in_channels) == [256 * 2**i for i in out_indices]

    # head type and its mask loss
    head = model.mask_head
    if name.startswith('decoupled-solo-light'):
        assert head.type == 'DecoupledSOLOLightHead'
    elif name.startswith('decoupled-solo'):
        assert head.type == 'DecoupledSOLOHead'
    else:
        assert head.type == 'SOLOHead'
    if head.type.startswith('Decoupled'):
        # the decoupled heads give probabilities to the loss
        assert head.loss_mask.type == 'DiceLoss'
        assert head.loss_mask.activate is False
    num_levels = len(head.num_grids)
    assert len(head.strides) == num_levels
    assert len(head.scale_ranges) == num_levels
    assert len(head.get('level_indices', range(model.neck.num_outs))) == \
        num_levels

    # schedule: epochs and lr steps
    schedule = re.search(r'_(\d+x)_', name).group(1)
    max_epochs = SCHEDULE_EPOCHS[schedule]
    assert cfg.train_cfg.max_epochs == max_epochs
    step_lr = [s for s in cfg.param_scheduler if s.type == 'MultiStepLR']
    assert len(step_lr) == 1
    assert step_lr[0].end == max_epochs
    assert all(0 < m < max_epochs for m in step_lr[0].milestones)

    # input size: SOLO-512 and Light use short side 512, the rest 800
    test_scales = resize_entries(cfg.test_dataloader.dataset.pipeline)
    short = 512 if ('-512' in name or '-light' in name) else 800
    assert [min(s) for s in test_scales] == [short]


@pytest.mark.parametrize('config_file', CONFIG_FILES, ids=CONFIG_IDS)
def test_model_trains_and_predicts(config_file):
    cfg = load(config_file)
    torch.manual_seed(0)
    model = MODELS.build(shrink_model_cfg(cfg.model))
    model.init_weights()
    num_classes = cfg.model.mask_head.num_classes
    data = make_batch(num_classes)

    # one training step with the config's optimiser settings
    model.train()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    batch = model.data_preprocessor(copy.deepcopy(data), True)
    assert batch['inputs'].shape[-2:] == (128, 128)
    losses = model(**batch, mode='loss')
    assert any('mask' in k for k in losses)
    assert any('cls' in k for k in losses)
    loss, log_vars = model.parse_losses(losses)
    assert torch.isfinite(loss)
    assert all(math.isfinite(float(v)) for v in log_vars.values())
    optim_wrapper.backward(loss)
    head_grads = {
        n: p.grad
        for n, p in model.mask_head.named_parameters() if p.grad is not None
    }
    assert all(torch.isfinite(g).all() for g in head_grads.values())
    # both branches learn, and the gradient reaches the backbone
    assert any(g.abs().sum() > 0 for n, g in head_grads.items() if 'mask' in n)
    assert any(g.abs().sum() > 0 for n, g in head_grads.items() if 'cls' in n)
    last_stage = getattr(model.backbone, model.backbone.res_layers[-1])
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in last_stage.parameters())
    optim_wrapper.step()
    optim_wrapper.zero_grad()
    for scheduler in cfg.param_scheduler:
        PARAM_SCHEDULERS.build(dict(scheduler, optimizer=optim_wrapper))

    # inference with the config's test_cfg (an untrained model may keep
    # nothing), then with thresholds at 0, which must keep something
    model.eval()
    test_cfgs = [
        cfg.model.test_cfg,
        dict(
            cfg.model.test_cfg,
            score_thr=0.0,
            mask_thr=0.0,
            filter_thr=0.0,
            nms_pre=30,
            max_per_img=10)
    ]
    for keeps_all, test_cfg in zip((False, True), test_cfgs):
        model.mask_head.test_cfg = ConfigDict(test_cfg)
        with torch.no_grad():
            results = model.test_step(copy.deepcopy(data))
        assert len(results) == len(data['data_samples'])
        for result, sample in zip(results, data['data_samples']):
            pred = result.pred_instances
            num = len(pred.scores)
            assert num <= test_cfg['max_per_img']
            assert pred.masks.shape == (num, *sample.ori_shape)
            assert pred.labels.shape == (num, )
            assert pred.bboxes.shape == (num, 4)
            if keeps_all:
                assert num > 0
            if num:
                assert pred.masks.dtype == torch.bool
                boxes = pred.bboxes
                assert (boxes[:, :2] >= 0).all()
                assert (boxes[:, 2] <= sample.ori_shape[1]).all()
                assert (boxes[:, 3] <= sample.ori_shape[0]).all()
                assert int(pred.labels.min()) >= 0
                assert int(pred.labels.max()) < num_classes
                assert float(pred.scores.min()) >= test_cfg['filter_thr']


def _write_image(path: str, h: int, w: int) -> None:
    """Write a random BGR image.

    Args:
        path (str): Where to write it.
        h (int): Height.
        w (int): Width.
    """
    rng = np.random.default_rng(0)
    mmcv.imwrite(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), path)


@pytest.mark.parametrize('config_file', CONFIG_FILES, ids=CONFIG_IDS)
def test_pipelines_build_and_run(config_file, tmp_path):
    cfg = load(config_file)
    img_path = str(tmp_path / 'img.png')
    h, w = 100, 150
    _write_image(img_path, h, w)
    square = [20., 20., 60., 20., 60., 60., 20., 60.]  # polygon x, y
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        pipeline_cfg = cfg[loader].dataset.pipeline
        transforms = [TRANSFORMS.build(t) for t in pipeline_cfg]
        # mmcv has its own Resize / LoadAnnotations / RandomFlip that know
        # nothing of masks; in the mmsolo scope an unprefixed name (also the
        # Resize that mmcv's RandomChoiceResize builds) would pick those
        for t in transforms:
            name = type(t).__name__
            if name in ('Resize', 'LoadAnnotations', 'RandomFlip'):
                assert type(t).__module__.startswith('mmdet.'), t
            if name == 'RandomChoiceResize':
                assert type(t.resize).__module__.startswith('mmdet.'), t
        pipeline = Compose(transforms)
        results = pipeline(
            dict(
                img_path=img_path,
                img_id=0,
                instances=[
                    dict(
                        bbox=[20., 20., 60., 60.],
                        bbox_label=3,
                        mask=[square],
                        ignore_flag=0)
                ]))
        img = results['inputs']
        assert img.shape[0] == 3
        out_short, out_long = sorted(img.shape[-2:])
        scales = resize_entries(pipeline_cfg)
        # keep_ratio resizing to (long, short): the largest size that fits
        expected = {
            min(h, w) * min(max(s) / max(h, w),
                            min(s) / min(h, w))
            for s in scales
        }
        assert any(abs(out_short - e) <= 1 for e in expected), \
            (out_short, expected)
        assert out_long <= max(max(s) for s in scales)
        gt = results['data_samples'].gt_instances
        assert len(gt) == 1
        assert gt.labels.tolist() == [3]
        # annotations loaded before resizing follow the image; those loaded
        # after it (test pipelines) stay at the original size for evaluation
        types = [t['type'].split('.')[-1] for t in pipeline_cfg]
        if types.index('LoadAnnotations') < types.index(
                'RandomChoiceResize' if 'RandomChoiceResize' in
                types else 'Resize'):
            assert (gt.masks.height, gt.masks.width) == tuple(img.shape[-2:])
        else:
            assert (gt.masks.height, gt.masks.width) == (h, w)
        assert gt.masks.to_ndarray().sum() > 0


@pytest.mark.parametrize('config_file', CONFIG_FILES, ids=CONFIG_IDS)
def test_runtime_types_resolve(config_file):
    """Dataset, samplers, metric, loops, optimiser and lr schedulers named
    in the config resolve from the mmsolo scope."""
    from mmdet.datasets import AspectRatioBatchSampler
    from mmdet.datasets import CocoDataset as MMDetCocoDataset
    from mmdet.evaluation import CocoMetric

    from mmsolo.datasets import CocoDataset
    cfg = load(config_file)

    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        # mmsolo's: mmdet's with clear errors for bad classes and images
        assert DATASETS.get(cfg[loader].dataset.type) is CocoDataset
        assert issubclass(CocoDataset, MMDetCocoDataset)
        assert DATA_SAMPLERS.get(cfg[loader].sampler.type) is not None
    assert DATA_SAMPLERS.get(cfg.train_dataloader.batch_sampler.type) is \
        AspectRatioBatchSampler

    for evaluator in (cfg.val_evaluator, cfg.test_evaluator):
        if 'contour' in osp.basename(config_file):
            # instance contours: box AP and the boundary F-score
            from mmsolo.evaluation import BoundaryFScoreMetric
            coco = METRICS.build(dict(evaluator[0], ann_file=None))
            boundary = METRICS.build(evaluator[1])
            assert isinstance(coco, CocoMetric)
            assert set(coco.metrics) == {'bbox'}
            assert isinstance(boundary, BoundaryFScoreMetric)
            continue
        metric = METRICS.build(dict(evaluator, ann_file=None))
        assert isinstance(metric, CocoMetric)
        assert set(metric.metrics) == {'segm', 'bbox'}

    for loop in (cfg.train_cfg, cfg.val_cfg, cfg.test_cfg):
        assert LOOPS.get(loop.type) is not None, loop.type
    assert OPTIM_WRAPPERS.get(cfg.optim_wrapper.type) is not None
    assert OPTIMIZERS.get(cfg.optim_wrapper.optimizer.type) is torch.optim.SGD
    for scheduler in cfg.param_scheduler:
        assert PARAM_SCHEDULERS.get(scheduler.type) is not None


def test_metafile_lists_every_main_config():
    import yaml
    with open(osp.join(REPO_ROOT, 'model-index.yml')) as f:
        index = yaml.safe_load(f)
    assert 'configs/solo/metafile.yml' in index['Import']
    with open(osp.join(SOLO_CONFIG_DIR, 'metafile.yml')) as f:
        meta = yaml.safe_load(f)
    names = set()
    for model in meta['Models']:
        assert model['In Collection'] == 'SOLO'
        assert osp.isfile(osp.join(REPO_ROOT, model['Config']))
        assert osp.basename(model['Config']) == model['Name'] + '.py'
        cfg = load(osp.join(REPO_ROOT, model['Config']))
        assert model['Metadata']['Epochs'] == cfg.train_cfg.max_epochs
        names.add(model['Name'])
    main_configs = {
        osp.basename(f)[:-3]
        for f in glob.glob(osp.join(SOLO_CONFIG_DIR, '*.py'))
    }
    assert names == main_configs


def test_readme_links_resolve():
    with open(osp.join(SOLO_CONFIG_DIR, 'README.md')) as f:
        readme = f.read()
    links = re.findall(r'\]\((\.[^)#]+)\)', readme)
    assert links
    for link in links:
        assert osp.exists(osp.join(SOLO_CONFIG_DIR, link)), link

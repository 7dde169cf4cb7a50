# Copyright (c) mmsolo contributors. All rights reserved.
"""End-to-end tests of tools/train.py and tools/test.py on the tiny config.

The tools run as subprocesses from a folder outside the repository, as a
user would run them, on the shapes set of the ``shapes_data_root`` fixture.
"""
import glob
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TRAIN = osp.join(REPO_ROOT, 'tools', 'train.py')
TEST = osp.join(REPO_ROOT, 'tools', 'test.py')
TINY_CFG = osp.join(REPO_ROOT, 'tests', 'data', 'configs',
                    'tiny_solo_shapes.py')
WORK_NAME = 'tiny_solo_shapes'  # default work_dir: ./work_dirs/<cfg name>
MAX_ITERS = 4  # as in the tiny config
TIMEOUT = 600


def data_options(root: str) -> list:
    """``--cfg-options`` that point the tiny config at ``root``."""
    return [
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        f'val_evaluator.ann_file={osp.join(root, "val.json")}',
        f'test_evaluator.ann_file={osp.join(root, "val.json")}',
    ]


def run_tool(args: list,
             cwd: str,
             check: bool = True) -> subprocess.CompletedProcess:
    """Run ``python <args>`` with one thread per process.

    With ``check`` (the default) a non-zero exit fails the test loudly.
    """
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable] + args,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=TIMEOUT)
    assert not check or proc.returncode == 0, (
        f'{" ".join(args)} exited with {proc.returncode}:\n'
        f'{proc.stdout[-6000:]}')
    return proc


def read_logs(work_dir: str) -> str:
    """The text of every run log written under ``work_dir``."""
    text = ''
    for path in sorted(glob.glob(osp.join(work_dir, '*', '*.log'))):
        with open(path) as f:
            text += f.read()
    return text


def load_ckpt(path: str) -> dict:
    """Load a checkpoint the way mmengine does (weights_only stays on)."""
    from mmengine.runner import CheckpointLoader

    import mmsolo  # noqa: F401
    return CheckpointLoader.load_checkpoint(path, map_location='cpu')


def test_tiny_config_uses_mmsolo_model():
    from mmengine.config import Config

    import mmsolo  # noqa: F401
    from mmsolo.datasets.shapes import SHAPES_CLASSES
    from mmsolo.models import SOLO
    from mmsolo.registry import MODELS
    cfg = Config.fromfile(TINY_CFG)
    assert cfg.default_scope == 'mmsolo'
    assert tuple(cfg.classes) == tuple(SHAPES_CLASSES)
    assert cfg.model.mask_head.num_classes == len(SHAPES_CLASSES)
    assert cfg.model.backbone.init_cfg is None  # no pretrained download
    assert MODELS.get(cfg.model.type) is SOLO


@pytest.fixture(scope='module')
def trained(tmp_path_factory, shapes_data_root):
    """Train the tiny config for MAX_ITERS iterations from a foreign cwd."""
    cwd = str(tmp_path_factory.mktemp('train_cwd'))
    proc = run_tool([TRAIN, TINY_CFG, '--cfg-options'] +
                    data_options(shapes_data_root), cwd)
    work_dir = osp.join(cwd, 'work_dirs', WORK_NAME)
    return dict(cwd=cwd, work_dir=work_dir, stdout=proc.stdout)


def test_train_writes_checkpoints(trained):
    work_dir = trained['work_dir']
    # The default work_dir is relative to the cwd, as in mmdet.
    assert osp.isdir(work_dir), os.listdir(trained['cwd'])
    last = osp.join(work_dir, f'iter_{MAX_ITERS}.pth')
    assert osp.isfile(last)
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        assert osp.samefile(f.read().strip(), last)
    ckpt = load_ckpt(last)
    assert ckpt['meta']['iter'] == MAX_ITERS
    assert set(ckpt) >= {'state_dict', 'optimizer', 'message_hub'}
    assert any(k.startswith('mask_head.') for k in ckpt['state_dict'])
    log = read_logs(work_dir)
    assert f'Iter(train) [{MAX_ITERS}/{MAX_ITERS}]' in log
    assert 'loss_mask' in log and 'loss_cls' in log
    # validation ran at the end of training (val_interval == max_iters)
    assert 'coco/segm_mAP' in log


#: mmengine warnings that a user reads as something being wrong with the run
SPURIOUS = ('Failed to search registry', 'save_dir',
            '"FileClient" will be deprecated',
            '"HardDiskBackend" is the alias')


def test_train_tool_is_quiet(trained):
    for warning in SPURIOUS:
        assert warning not in trained['stdout'], warning


def test_test_tool_metrics_and_dump(trained, shapes_data_root, tmp_path):
    import mmengine
    ckpt = osp.join(trained['work_dir'], f'iter_{MAX_ITERS}.pth')
    out = str(tmp_path / 'results.pkl')
    work_dir = str(tmp_path / 'test_work_dir')
    proc = run_tool([
        TEST, TINY_CFG, ckpt, '--work-dir', work_dir, '--out', out,
        '--cfg-options'
    ] + data_options(shapes_data_root), str(tmp_path))
    log = read_logs(work_dir)
    for key in ('coco/segm_mAP', 'coco/segm_mAP_50', 'coco/segm_mAP_75',
                'coco/bbox_mAP'):
        assert key in log, proc.stdout[-3000:]
    assert 'Load checkpoint from' in log
    for warning in SPURIOUS:
        assert warning not in proc.stdout, warning

    results = mmengine.load(out)
    val = mmengine.load(osp.join(shapes_data_root, 'val.json'))
    assert sorted(r['img_id']
                  for r in results) == sorted(img['id']
                                              for img in val['images'])
    for res in results:
        pred = res['pred_instances']
        assert len(pred['scores']) == len(pred['labels'])
        assert len(pred['masks']) == len(pred['scores'])
        for rle in pred['masks']:  # DumpDetResults stores RLE masks
            assert set(rle) >= {'size', 'counts'}
            assert list(
                rle['size']) == [res['ori_shape'][0], res['ori_shape'][1]]
        assert 'gt_instances' not in res


def _setup_tta():
    import importlib.util
    spec = importlib.util.spec_from_file_location('mmsolo_test_tool', TEST)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.setup_tta


def test_setup_tta_averages_flips_for_solo():
    from mmengine.config import Config
    setup_tta = _setup_tta()
    plain = Config.fromfile(TINY_CFG)
    cfg = setup_tta(Config.fromfile(TINY_CFG))
    # SOLO configs: mmsolo's flip TTA model (from the config's tta_model,
    # not mmdet's DetTTAModel), on the plain test pipeline
    assert cfg.model.type == 'SOLOTTAModel'
    assert cfg.model.module.type == 'SOLO'
    module = cfg.model.module
    assert module.test_cfg.score_thr == plain.model.test_cfg.score_thr
    assert cfg.test_dataloader.dataset.pipeline == \
        plain.test_dataloader.dataset.pipeline
    from mmengine.registry import init_default_scope

    from mmsolo.registry import MODELS
    init_default_scope('mmsolo')
    model = MODELS.build(cfg.model)
    assert model.tta_flips == ('horizontal', )
    # flips the config lists are kept
    cfg = Config.fromfile(TINY_CFG)
    cfg.model.test_cfg.tta_flips = ['vertical', 'diagonal']
    model = MODELS.build(setup_tta(cfg).model)
    assert model.tta_flips == ('vertical', 'diagonal')
    # other models (a config without SOLO's tta_model): mmdet's wrapper, as
    # in mmdet's tools/test.py
    cfg = Config.fromfile(TINY_CFG)
    cfg.model.type = 'mmdet.MaskRCNN'
    cfg.pop('tta_model')
    cfg = setup_tta(cfg)
    assert cfg.model.type == 'mmdet.DetTTAModel'
    assert cfg.model.module.type == 'mmdet.MaskRCNN'
    assert cfg.test_dataloader.dataset.pipeline[-1].type == 'TestTimeAug'


def test_test_tool_tta(trained, shapes_data_root, tmp_path):
    import mmengine
    ckpt = osp.join(trained['work_dir'], f'iter_{MAX_ITERS}.pth')
    out = str(tmp_path / 'results.pkl')
    work_dir = str(tmp_path / 'tta_work_dir')
    proc = run_tool([
        TEST, TINY_CFG, ckpt, '--tta', '--work-dir', work_dir, '--out', out,
        '--cfg-options'
    ] + data_options(shapes_data_root), str(tmp_path))
    log = read_logs(work_dir)
    # the config as run, in the log
    assert re.search(r"type='SOLOTTAModel'", log), log[-3000:]
    assert 'coco/segm_mAP' in log, proc.stdout[-3000:]
    results = mmengine.load(out)
    val = mmengine.load(osp.join(shapes_data_root, 'val.json'))
    assert len(results) == len(val['images'])


def test_test_tool_rejects_non_pickle_out(trained, tmp_path):
    ckpt = osp.join(trained['work_dir'], f'iter_{MAX_ITERS}.pth')
    proc = run_tool(
        [TEST, TINY_CFG, ckpt, '--out',
         str(tmp_path / 'results.json')],
        str(tmp_path),
        check=False)
    assert proc.returncode != 0
    assert '.pkl' in proc.stdout


def test_resume_restores_state(trained, shapes_data_root):
    """Resume in-process: iteration, optimizer and scheduler state."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner

    import mmsolo  # noqa: F401
    ckpt_path = osp.join(trained['work_dir'], f'iter_{MAX_ITERS}.pth')
    saved = load_ckpt(ckpt_path)
    assert saved['optimizer']['state'], 'SGD momentum state expected'

    cfg = Config.fromfile(TINY_CFG)
    cfg.merge_from_dict(
        dict(opt.split('=', 1) for opt in data_options(shapes_data_root)))
    cfg.work_dir = osp.join(trained['cwd'], 'inprocess_resume')
    init_default_scope(cfg.default_scope)
    runner = Runner.from_cfg(cfg)
    runner.resume(ckpt_path)

    assert runner.iter == saved['meta']['iter'] == MAX_ITERS
    assert runner.epoch == saved['meta']['epoch']
    state = runner.optim_wrapper.state_dict()
    assert state['state'].keys() == saved['optimizer']['state'].keys()
    for idx, param_state in saved['optimizer']['state'].items():
        for name, value in param_state.items():
            torch.testing.assert_close(state['state'][idx][name], value)
    for group, saved_group in zip(state['param_groups'],
                                  saved['optimizer']['param_groups']):
        assert group['lr'] == pytest.approx(saved_group['lr'])
        assert group['momentum'] == saved_group['momentum']
    # the LR schedule continues where it stopped
    scheduler = runner.param_schedulers[0]
    assert scheduler.last_step == saved['param_schedulers'][0]['last_step']
    # a fresh optimizer would have no momentum buffers: the check can fail
    fresh = runner.build_optim_wrapper(cfg.optim_wrapper)
    assert not fresh.state_dict()['state']


def test_resume_continues_training(trained, shapes_data_root):
    """``--resume`` (auto) picks up iter_4 and trains iterations 5 and 6."""
    work_dir = trained['work_dir']
    new_max = MAX_ITERS + 2
    before = set(glob.glob(osp.join(work_dir, '*', '*.log')))
    run_tool([
        TRAIN, TINY_CFG, '--resume', '--cfg-options',
        f'train_cfg.max_iters={new_max}', f'train_cfg.val_interval={new_max}'
    ] + data_options(shapes_data_root), trained['cwd'])
    new_logs = set(glob.glob(osp.join(work_dir, '*', '*.log'))) - before
    assert len(new_logs) == 1
    with open(new_logs.pop()) as f:
        log = f.read()
    assert f'resumed epoch: 0, iter: {MAX_ITERS}' in log
    assert f'Iter(train) [{MAX_ITERS + 1}/{new_max}]' in log
    assert f'Iter(train) [1/{new_max}]' not in log

    resumed = load_ckpt(osp.join(work_dir, f'iter_{new_max}.pth'))
    first = load_ckpt(osp.join(work_dir, f'iter_{MAX_ITERS}.pth'))
    assert resumed['meta']['iter'] == new_max
    assert resumed['optimizer']['state'].keys() == \
        first['optimizer']['state'].keys()
    # training went on from the loaded weights: parameters changed
    changed = [
        k for k, v in first['state_dict'].items() if v.is_floating_point()
        and not torch.equal(v, resumed['state_dict'][k])
    ]
    assert changed


@pytest.mark.skipif(torch.cuda.is_available(), reason='needs a CPU-only run')
def test_amp_on_cpu_trains_in_bfloat16_or_says_why(tmp_path, shapes_data_root):
    from mmsolo.engine import cpu_supports_bf16
    proc = run_tool(
        [
            TRAIN, TINY_CFG, '--amp', '--cfg-options',
            'train_cfg.val_interval=5'
        ] + data_options(shapes_data_root),
        str(tmp_path),
        check=False)
    assert 'Traceback' not in proc.stdout
    if not cpu_supports_bf16():
        assert proc.returncode != 0
        assert 'no native bfloat16' in proc.stdout
        return
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert 'bfloat16 autocast (BF16OptimWrapper)' in proc.stdout
    work_dir = osp.join(str(tmp_path), 'work_dirs', WORK_NAME)
    log = read_logs(work_dir)
    assert "type='BF16OptimWrapper'" in log  # the config the runner used
    assert f'Iter(train) [{MAX_ITERS}/{MAX_ITERS}]' in log
    ckpt = load_ckpt(osp.join(work_dir, f'iter_{MAX_ITERS}.pth'))
    assert all(v.dtype != torch.bfloat16 for v in ckpt['state_dict'].values())

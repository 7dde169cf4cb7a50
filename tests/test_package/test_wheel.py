# Copyright (c) mmsolo contributors. All rights reserved.
"""``pip wheel .`` gives a working, self-contained mmsolo.

The wheel is built from a copy of the checkout (building writes
``mmsolo/.mim``, which must stay the editable install's links here) and
installed by pip into a clean virtualenv, whose Python, started outside the
checkout, loads configs through the ``mmsolo::`` prefix and builds a model.
"""
import os
import os.path as osp
import shutil
import subprocess
import sys
import sysconfig
import zipfile

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MIM = 'mmsolo/.mim/'


@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    """Path of the wheel built from a copy of the checkout's files."""
    root = tmp_path_factory.mktemp('wheel')
    source = root / 'src'
    files = subprocess.run(
        ['git', 'ls-files', '-co', '--exclude-standard', '-z'],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True).stdout.decode().split('\0')
    for name in filter(None, files):
        src = osp.join(REPO_ROOT, name)
        if osp.isfile(src):
            os.makedirs(source / osp.dirname(name), exist_ok=True)
            shutil.copy2(src, source / name)
    proc = subprocess.run([
        sys.executable, '-m', 'pip', 'wheel', '--no-deps',
        '--no-build-isolation', '-q', '-w',
        str(root / 'dist'),
        str(source)
    ],
                          capture_output=True,
                          text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    wheels = os.listdir(root / 'dist')
    assert len(wheels) == 1 and wheels[0].startswith('mmsolo-')
    return str(root / 'dist' / wheels[0])


@pytest.fixture(scope='module')
def installed(wheel, tmp_path_factory):
    """``(python, site-packages)`` of a clean virtualenv with the wheel
    installed by pip (not editable).

    The dependencies (torch, mmcv, mmengine, mmdet) are too big to install
    again: a ``.pth`` file appends this environment's site-packages to the
    new one's ``sys.path``, after its own. Only its files are on the path,
    not its ``.pth`` files, so the editable install of this checkout stays
    out.
    """
    venv = tmp_path_factory.mktemp('venv')
    subprocess.run(
        [sys.executable, '-m', 'venv', str(venv)], check=True, timeout=300)
    python = str(venv / 'bin' / 'python')
    site_packages = subprocess.run([
        python, '-c', 'import sysconfig; print(sysconfig.get_paths()'
        "['purelib'])"
    ],
                                   capture_output=True,
                                   text=True,
                                   check=True).stdout.strip()
    deps = sysconfig.get_paths()['purelib']
    with open(osp.join(site_packages, 'mmsolo_test_deps.pth'), 'w') as f:
        f.write(deps + '\n')
    proc = subprocess.run([
        python, '-m', 'pip', 'install', '-q', '--no-deps', '--no-index', wheel
    ],
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return python, site_packages


def test_wheel_contents(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    tracked = subprocess.run(['git', 'ls-files', 'configs', 'tools', 'demo'],
                             cwd=REPO_ROOT,
                             capture_output=True,
                             text=True,
                             check=True).stdout.split()
    missing = [n for n in tracked if MIM + n not in names]
    assert not missing, missing[:10]
    for name in ('model-index.yml', 'requirements/mminstall.txt',
                 'configs/solo/metafile.yml'):
        assert MIM + name in names, name
    assert 'mmsolo/models/dense_heads/solo_head.py' in names
    assert not [n for n in names if n.startswith('tests/')]
    assert not [n for n in names if '__pycache__' in n]


SCRIPT = """
import os.path as osp, sys
import mmsolo
site = sys.argv[1]
assert mmsolo.__file__.startswith(site), mmsolo.__file__
from mmengine.config import Config
from mmengine.hub import get_config
from mmsolo.utils.tool_config import load_any_config
cfg = load_any_config('mmsolo::solo/solo_r50_fpn_1x_coco.py')
assert cfg.filename.startswith(osp.join(site, 'mmsolo', '.mim', 'configs'))
assert cfg.model.mask_head.num_grids == [40, 36, 24, 16, 12]
child = Config.fromfile('child.py')   # _base_ = 'mmsolo::...'
assert child.model.mask_head.num_classes == 3
assert child.model.mask_head.type == 'SOLOHead'
hub = get_config('mmsolo::solo/decoupled-solo_r50_fpn_1x_coco.py')
assert hub.model.mask_head.type == 'DecoupledSOLOHead'
from mmengine.registry import init_default_scope
from mmsolo.registry import MODELS
init_default_scope('mmsolo')
child.model.backbone.init_cfg = None
model = MODELS.build(child.model)
print('OK', type(model).__name__, sum(p.numel() for p in model.parameters()))
"""


def test_installed_package_outside_the_checkout(installed, tmp_path):
    python, site = installed
    work = tmp_path / 'elsewhere'
    work.mkdir()
    (work / 'child.py').write_text(
        "_base_ = 'mmsolo::solo/solo_r50_fpn_1x_coco.py'\n"
        'model = dict(mask_head=dict(num_classes=3))\n')
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env.pop('PYTHONPATH', None)
    proc = subprocess.run([python, '-c', SCRIPT, site],
                          cwd=str(work),
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'OK SOLO' in proc.stdout


def test_model_index_validates(installed):
    """The model index loads with mim's library, every model's config is in
    the package and loads, and the metadata mim reads is complete."""
    modelindex = pytest.importorskip('modelindex')
    from mmengine.config import Config
    mim_root = osp.join(installed[1], 'mmsolo', '.mim')
    cwd = os.getcwd()
    os.chdir(mim_root)  # the index's paths are relative to the package root
    try:
        index = modelindex.load('model-index.yml')
        errors = index.check(silent=True)
        index = index.build_models_with_collections() or index
    finally:
        os.chdir(cwd)
    # OpenMMLab metafiles give README paths from the package root, which
    # modelindex resolves from the metafile's folder: accept those only
    # where the README does exist from the root
    real_errors = [
        e for e in errors if not ('Path to README file' in e and osp.isfile(
            osp.join(mim_root,
                     e.split('README file ')[1].split(' is not')[0])))
    ]
    assert not real_errors, real_errors
    assert len(index.models) >= 10
    for model in index.models:
        # a SOLO model in the SOLO collection, a SOLOv2 one in SOLOv2
        assert model.name and model.in_collection in ('SOLO', 'SOLOv2')
        path = osp.join(mim_root, model.config)
        assert osp.isfile(path), model.config
        assert Config.fromfile(path).model.type == model.in_collection
        for result in model.results or []:  # paper-only rows: none
            assert result.task == 'Instance Segmentation'
            assert 'mask AP' in result.metrics
        if model.weights:
            assert model.weights.startswith('https://')

# Copyright (c) mmsolo contributors. All rights reserved.
"""Version checks, registry scope and errors for unknown config types."""
import os
import os.path as osp
import subprocess
import sys

import pytest

from mmsolo.utils import version_check
from mmsolo.utils.version_check import (check_versions, find_mminstall_file,
                                        format_problems, read_requirements)

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
GOOD = {'mmcv': '2.1.0', 'mmdet': '3.3.0', 'mmengine': '0.10.7'}


def test_requirements_file_is_found():
    path = find_mminstall_file()
    assert path is not None and osp.isfile(path)
    assert set(read_requirements(path)) >= set(GOOD)


def test_supported_versions_pass():
    assert check_versions(installed=GOOD) == []


def test_installed_environment_passes():
    assert check_versions() == []


@pytest.mark.parametrize('name,version', [('mmcv', '2.2.0'),
                                          ('mmdet', '3.4.0'),
                                          ('mmengine', '1.0.0'),
                                          ('mmcv', '1.7.2'),
                                          ('mmengine', '0.7.0')])
def test_out_of_range_versions_are_flagged(name, version):
    problems = check_versions(installed=dict(GOOD, **{name: version}))
    assert [p[:2] for p in problems] == [(name, version)]
    msg = format_problems(problems)
    assert f'found {version}' in msg
    assert f'pip install "{name}{problems[0][2]}"' in msg


def test_missing_package_is_flagged():
    installed = {k: v for k, v in GOOD.items() if k != 'mmcv'}
    problems = check_versions(installed=installed)
    assert [p[:2] for p in problems] == [('mmcv', None)]
    msg = format_problems(problems)
    assert 'mmcv' in msg and 'not installed' in msg
    assert 'MMCV_WITH_OPS=1' in msg  # mmcv must be built from source


def test_installed_path_reads_metadata(monkeypatch):
    """Without ``installed``, versions come from package metadata."""
    real_version = version_check.metadata.version

    def fake_version(name):
        if name == 'mmcv':
            return '2.2.0'
        return real_version(name)

    monkeypatch.setattr(version_check.metadata, 'version', fake_version)
    problems = check_versions()
    assert [p[:2] for p in problems] == [('mmcv', '2.2.0')]


def test_custom_requirements_file(tmp_path):
    req = tmp_path / 'mminstall.txt'
    req.write_text('# comment\nmmfoo>=1.0,<2.0\n\nmmbar==0.1  # pinned\n')
    problems = check_versions(
        installed={
            'mmfoo': '2.0',
            'mmbar': '0.1'
        }, path=str(req))
    assert [p[:2] for p in problems] == [('mmfoo', '2.0')]


def test_import_sets_mmsolo_scope(tmp_path):
    env = dict(os.environ)
    env['PYTHONPATH'] = REPO_ROOT + os.pathsep + env.get('PYTHONPATH', '')
    proc = subprocess.run([
        sys.executable, '-c',
        'import mmsolo; from mmsolo.registry import MODELS; '
        'print(MODELS.scope)'
    ],
                          cwd=str(tmp_path),
                          env=env,
                          stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == 'mmsolo'


def test_unknown_type_names_type_and_scope(tmp_path):
    from mmengine.config import Config
    from mmengine.runner import Runner

    import mmsolo  # noqa: F401
    cfg_file = tmp_path / 'bad.py'
    cfg_file.write_text("default_scope = 'mmsolo'\n"
                        "model = dict(type='NoSuchDetector')\n")
    cfg = Config.fromfile(str(cfg_file))
    cfg.work_dir = str(tmp_path / 'work_dir')
    with pytest.raises(KeyError) as info:
        Runner.from_cfg(cfg)
    msg = str(info.value)
    assert 'NoSuchDetector' in msg
    assert 'mmsolo::model' in msg

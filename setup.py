#!/usr/bin/env python
# Copyright (c) mmsolo contributors. All rights reserved.
import os
import os.path as osp
import shutil
import sys

from setuptools import find_packages, setup

ROOT = osp.dirname(osp.abspath(__file__))


def readme():
    with open(osp.join(ROOT, 'README.md'), encoding='utf-8') as f:
        return f.read()


def get_version():
    scope = {}
    with open(osp.join(ROOT, 'mmsolo', 'version.py')) as f:
        exec(compile(f.read(), 'mmsolo/version.py', 'exec'), scope)
    return scope['__version__']


def parse_requirements(fname):
    """Read a requirements file, following ``-r`` includes."""
    reqs = []
    with open(osp.join(ROOT, fname)) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            if line.startswith('-r '):
                reqs += parse_requirements(
                    osp.join(osp.dirname(fname), line[3:].strip()))
            else:
                reqs.append(line)
    return reqs


def add_mim_extension():
    """Copy requirements, configs, tools, demo and the model index into
    ``mmsolo/.mim``.

    Editable installs link them instead, so the repository stays the single
    source of truth; ``mmsolo/utils/version_check.py`` reads
    ``.mim/requirements/mminstall.txt`` from here in regular installs.
    """
    if 'develop' in sys.argv or any('editable' in a for a in sys.argv):
        mode = 'symlink'
    elif 'sdist' in sys.argv or 'bdist_wheel' in sys.argv:
        mode = 'copy'
    else:
        return
    mim_path = osp.join(ROOT, 'mmsolo', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for name in [
            'requirements', 'configs', 'tools', 'demo', 'model-index.yml'
    ]:
        src = osp.join(ROOT, name)
        dst = osp.join(mim_path, name)
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if not osp.exists(src):
            continue
        if mode == 'symlink':
            os.symlink(osp.relpath(src, mim_path), dst)
        elif osp.isfile(src):
            shutil.copyfile(src, dst)
        else:
            shutil.copytree(
                src,
                dst,
                ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='mmsolo',
        version=get_version(),
        description='SOLO instance segmentation (Segmenting Objects by '
        'Locations) for OpenMMLab',
        long_description=readme(),
        long_description_content_type='text/markdown',
        keywords='computer vision, instance segmentation, SOLO',
        packages=find_packages(
            exclude=('configs', 'tools', 'demo', 'tests', 'tests.*')),
        include_package_data=True,
        package_data={'mmsolo': ['.mim/**/*']},
        python_requires='>=3.8',
        license='Apache License 2.0',
        install_requires=parse_requirements('requirements/runtime.txt'),
        extras_require={
            'all': parse_requirements('requirements.txt'),
            'tests': parse_requirements('requirements/tests.txt'),
            'build': parse_requirements('requirements/build.txt'),
            'mim': parse_requirements('requirements/mminstall.txt'),
            'deploy': parse_requirements('requirements/deploy.txt'),
        },
        zip_safe=False)

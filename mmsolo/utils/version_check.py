# Copyright (c) mmsolo contributors. All rights reserved.
"""Check the installed OpenMMLab packages against ``mminstall.txt``.

``requirements/mminstall.txt`` is the single source of truth for the
versions of mmcv, mmdet and mmengine that mmsolo supports. ``setup.py``
copies it into ``mmsolo/.mim/requirements`` for non-editable installs.
"""
import os.path as osp
from importlib import metadata
from typing import Dict, List, Optional, Tuple

from packaging.requirements import Requirement

_PKG_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))


def find_mminstall_file() -> Optional[str]:
    """Locate ``mminstall.txt`` for an editable or a regular install.

    Returns:
        str, optional: The path of the file, or None if it is missing.
    """
    candidates = [
        osp.join(_PKG_DIR, '.mim', 'requirements', 'mminstall.txt'),
        osp.join(osp.dirname(_PKG_DIR), 'requirements', 'mminstall.txt'),
    ]
    for path in candidates:
        if osp.isfile(path):
            return path
    return None


def read_requirements(path: str) -> Dict[str, Requirement]:
    """Parse a requirements file into ``{name: Requirement}``.

    Args:
        path (str): Path to a pip requirements file.

    Returns:
        dict[str, Requirement]: The parsed requirements.
    """
    reqs = {}
    with open(path) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if not line or line.startswith('-'):
                continue
            req = Requirement(line)
            reqs[req.name.lower()] = req
    return reqs


def check_versions(
        installed: Optional[Dict[str, Optional[str]]] = None,
        path: Optional[str] = None) -> List[Tuple[str, Optional[str], str]]:
    """Compare installed package versions against ``mminstall.txt``.

    Args:
        installed (dict, optional): ``{name: version}`` to check instead of
            the installed distributions (a version of None means missing).
        path (str, optional): The requirements file. Defaults to the one
            found by :func:`find_mminstall_file`.

    Returns:
        list[tuple]: ``(name, found_version, wanted_specifier)`` for each
        package that does not satisfy its bound. Empty when all are fine.
    """
    path = path or find_mminstall_file()
    if path is None:
        return []
    problems = []
    for name, req in read_requirements(path).items():
        if installed is not None:
            version = installed.get(name)
        else:
            try:
                version = metadata.version(name)
            except metadata.PackageNotFoundError:
                version = None
        if version is None or not req.specifier.contains(
                version, prereleases=True):
            problems.append((name, version, str(req.specifier)))
    return problems


def format_problems(problems: List[Tuple[str, Optional[str], str]]) -> str:
    """Turn the output of :func:`check_versions` into an actionable message.

    Args:
        problems (list[tuple]): Output of :func:`check_versions`.

    Returns:
        str: A message naming each package and what to install.
    """
    lines = ['mmsolo needs other versions of these OpenMMLab packages:']
    for name, version, spec in problems:
        found = 'not installed' if version is None else f'found {version}'
        lines.append(f'  - {name}{spec} ({found}): '
                     f'pip install "{name}{spec}"')
    lines.append('mmcv has no wheels on PyPI: build it from source with '
                 '`MMCV_WITH_OPS=1 pip install --no-build-isolation '
                 '"mmcv==2.1.0"`, or run `bash tools/setup_env.sh` '
                 '(see docs/get_started.md).')
    return '\n'.join(lines)

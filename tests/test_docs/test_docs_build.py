# Copyright (c) mmsolo contributors. All rights reserved.
"""The Sphinx + MyST site in docs/en builds without a warning.

Warnings are errors (``-W``): a broken link inside the repository, a page
missing from the table of contents, an autodoc failure or a docstring that
does not parse fails the build.
"""
import os.path as osp
import subprocess
import sys

import pytest

pytest.importorskip('sphinx')
pytest.importorskip('myst_parser')

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DOCS = osp.join(REPO_ROOT, 'docs', 'en')


def build(source: str, out: str) -> subprocess.CompletedProcess:
    """``sphinx-build -W`` of ``source`` with the site's conf.py."""
    command = [
        sys.executable, '-m', 'sphinx', '-W', '--keep-going', '-q', '-E', '-b',
        'html', '-c', DOCS, source, out
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def test_docs_build_clean(tmp_path):
    proc = build(DOCS, str(tmp_path / 'html'))
    assert proc.returncode == 0, proc.stderr[-5000:]
    html = tmp_path / 'html'
    for page in ('index', 'overview', 'get_started', 'quickstart',
                 'config_guide', 'train_test', 'inference', 'custom_dataset',
                 'useful_tools', 'deployment', 'benchmark', 'faq', 'changelog',
                 'api', 'how_solo_works'):
        assert (html / f'{page}.html').is_file(), page
    # the paper's numbers, the config keys and the API are there
    assert '37.8' in (html / 'overview.html').read_text()
    guide = (html / 'config_guide.html').read_text()
    for key in ('num_grids', 'scale_ranges', 'pos_scale', 'strides',
                'level_indices', 'mask_upsample', 'kernel', 'iou_thr'):
        assert key in guide, key
    assert 'mmsolo.models.dense_heads.SOLOHead' in (html /
                                                    'api.html').read_text()
    # the pictures of the tools travel with the page
    for name in ('activations_level2', 'activations_level3', 'contours'):
        assert (html / '_images' / f'how_solo_works_{name}.png').is_file()


def test_broken_link_fails_the_build(tmp_path):
    source = tmp_path / 'src'
    source.mkdir()
    (source / 'index.md').write_text('# Page\n\n[gone](no_such_page.md)\n')
    proc = build(str(source), str(tmp_path / 'html'))
    assert proc.returncode != 0
    assert 'no_such_page' in proc.stderr

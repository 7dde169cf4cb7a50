# Copyright (c) mmsolo contributors. All rights reserved.
"""Sphinx configuration of mmsolo's documentation (MyST markdown).

Build (fails on any warning, e.g. a broken link inside the repository)::

    sphinx-build -W --keep-going -b html docs/en docs/en/_build/html
"""
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
sys.path.insert(0, ROOT)

from mmsolo import __version__  # noqa: E402

project = 'mmsolo'
copyright = 'mmsolo contributors'
author = 'mmsolo contributors'
version = release = __version__

extensions = [
    'myst_parser',
    'sphinx.ext.autodoc',
    'sphinx.ext.napoleon',
    'sphinx.ext.viewcode',
    'sphinx_copybutton',
]
source_suffix = {'.md': 'markdown'}
master_doc = 'index'
exclude_patterns = ['_build']

myst_enable_extensions = ['colon_fence', 'dollarmath']
myst_heading_anchors = 3  # links to '#section' headings

autodoc_member_order = 'bysource'
autodoc_default_options = {'members': True, 'show-inheritance': True}
autodoc_typehints = 'description'
napoleon_google_docstring = True
napoleon_numpy_docstring = False

copybutton_prompt_text = r'\$ '
copybutton_prompt_is_regexp = True

html_theme = 'alabaster'
html_title = f'mmsolo {__version__}'

#: Markdown files of the repository that are pages of this site (through
#: ``{include}``): links to them from included files go to the page.
INCLUDED_PAGES = {
    'configs/solo/README.md': 'overview',
    'configs/quickstart/README.md': 'quickstart',
    'docs/get_started.md': 'get_started',
    'docs/user_guides/custom_dataset.md': 'custom_dataset',
    'docs/benchmark.md': 'benchmark',
    'docs/faq.md': 'faq',
    'docs/deployment.md': 'deployment',
    'configs/solov2/README.md': 'solov2',
}
LINK = re.compile(r'(?<!!)\[([^\]]*)\]\(([^)\s]+)\)')


def rewrite_link(match: re.Match, folder: str) -> str:
    """A relative link of an included file, made to work on this site.

    Links to repository files that are pages here go to the page; links to
    folders become the folder's path in code; everything else is left to
    MyST (``:relative-docs:`` makes it relative to the included file: files
    that are not pages become downloads, a missing target a warning).

    Args:
        match (re.Match): A markdown link ``[text](target)``.
        folder (str): Folder of the included file.

    Returns:
        str: The link to put in its place.
    """
    text, target = match.groups()
    if re.match(r'^[a-z]+:', target) or target.startswith(('#', '/')):
        return match.group(0)
    path, _, anchor = target.partition('#')
    full = os.path.normpath(os.path.join(folder, path))
    page = INCLUDED_PAGES.get(os.path.relpath(full, ROOT))
    if page is not None:
        return f'[{text}](/{page}.md' + (f'#{anchor})' if anchor else ')')
    if os.path.isdir(full):
        return f'{text} (`{os.path.relpath(full, ROOT)}/`)'
    if not target.startswith('.'):  # ':relative-docs: .' only sees ./ ../
        return f'[{text}](./{target})'
    return match.group(0)


def on_include_read(app, relative_path, parent_docname, content) -> None:
    """Rewrite the links of an included repository file (in place)."""
    folder = os.path.dirname(os.path.join(app.srcdir, str(relative_path)))
    content[0] = LINK.sub(lambda m: rewrite_link(m, folder), content[0])


def setup(app) -> None:
    """Connect the include hook."""
    app.connect('include-read', on_include_read)

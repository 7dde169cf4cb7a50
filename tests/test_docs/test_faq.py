# Copyright (c) mmsolo contributors. All rights reserved.
"""docs/faq.md lists every error that mmsolo raises (issue 13, item 9).

The messages are read from the source: for every ``raise`` of mmsolo (and
of the train/test tools and the demo) the longest literal part of its
message must appear in the FAQ, and every exception class that mmsolo
defines must be named there.
"""
import ast
import glob
import os.path as osp
import re

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FAQ = osp.join(ROOT, 'docs', 'faq.md')
#: mmsolo/deployment is documented with the deployment tools.
SOURCES = sorted(
    p
    for p in glob.glob(osp.join(ROOT, 'mmsolo', '**', '*.py'), recursive=True)
    if not p.startswith(osp.join(ROOT, 'mmsolo', 'deployment'))) + [
        osp.join(ROOT, 'tools', 'train.py'),
        osp.join(ROOT, 'tools', 'test.py'),
        osp.join(ROOT, 'demo', 'image_demo.py')
    ]
#: Internal errors that a user cannot cause through configs or tools.
INTERNAL = {
    'has no attribute',  # mmsolo.utils lazy imports (PEP 562)
    'views of the features for',  # flip TTA: one view per flip, by code
    'is not installed',  # tool_config: mmdet's own configs, checked at start
}


def normalise(text: str) -> str:
    return re.sub(r'\s+', ' ', text.replace('`', '').replace('**', ''))


def message_key(call: ast.Call) -> str:
    """The first literal run of 12 characters or more of a raise's message
    (its first line, at most 60 characters): what identifies it."""
    if not call.args:
        return ''
    first = call.args[0]
    if isinstance(first, ast.BinOp):  # 'a' + 'b'
        first = first.left
    values = first.values if isinstance(first, ast.JoinedStr) else [first]
    runs, cur = [], ''
    for v in values:
        if isinstance(v, ast.Constant) and isinstance(v.value, str):
            cur += v.value
        else:
            runs.append(cur)
            cur = ''
    runs.append(cur)
    for run in runs:
        run = normalise(run.split('\n')[0]).strip(' .:;,()"\'')
        if len(run) >= 12:
            return run[:60].rsplit(' ', 1)[0] if len(run) > 60 else run
    return ''


def raised_messages():
    for path in SOURCES:
        with open(path) as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            exc = getattr(node, 'exc', None) if isinstance(node,
                                                           ast.Raise) else None
            if isinstance(node, ast.Call) and getattr(
                    node.func, 'attr', None) == 'exit' and node.args:
                exc = node  # sys.exit(message)
            if exc is None or not isinstance(exc, ast.Call):
                continue
            text = message_key(exc)
            if text:
                yield osp.relpath(path, ROOT), node.lineno, text


MESSAGES = list(raised_messages())


def test_messages_were_found():
    texts = ' '.join(t for _, _, t in MESSAGES)
    for known in ('are not categories of the annotation',
                  'Training stopped at', 'Cannot read image',
                  'images could not be read'):
        assert known in texts


@pytest.mark.parametrize(
    'where,text', [(f'{p}:{n}', t) for p, n, t in MESSAGES],
    ids=[f'{p}:{n}' for p, n, _ in MESSAGES])
def test_every_message_is_in_the_faq(where, text):
    if any(i in text for i in INTERNAL):
        pytest.skip('internal')
    with open(FAQ) as f:
        faq = normalise(f.read())
    assert text in faq, f'{where}: {text!r} is not in docs/faq.md'


def test_every_exception_class_is_in_the_faq():
    with open(FAQ) as f:
        faq = f.read()
    names = set()
    for path in SOURCES:
        with open(path) as f:
            for node in ast.walk(ast.parse(f.read())):
                if isinstance(node, ast.ClassDef) and any(
                        getattr(b, 'id', getattr(b, 'attr', '')).endswith((
                            'Error', 'Exception')) for b in node.bases):
                    names.add(node.name)
    assert names >= {
        'UnsafeCheckpointError', 'DatasetConfigError', 'UnreadableImageError',
        'NonFiniteTrainingError', 'CheckpointMismatchError'
    }
    assert not [n for n in names if n not in faq]

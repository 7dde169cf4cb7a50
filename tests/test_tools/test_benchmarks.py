# Copyright (c) mmsolo contributors. All rights reserved.
"""Smoke tests of the benchmark tools (``--quick``: tiny model and inputs).

Timings are not checked (the machine may be busy), only that the tools run
end to end, report what they claim, and that the comparison with mmdet
agrees and would notice a disagreement.
"""
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = osp.join(REPO_ROOT, 'tools', 'analysis_tools')
sys.path.insert(0, TOOLS)
import benchmark_vs_mmdet as vs  # noqa: E402

DOC = """# A document

Intro that must survive.

<!-- benchmark-results:start -->
placeholder
<!-- benchmark-results:end -->

Closing text that must survive.
"""


def _run(script, args):
    proc = subprocess.run(
        [sys.executable, osp.join(TOOLS, script)] + args,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc.stdout


def _table_rows(text, header_start):
    """Rows (lists of cells) of the markdown table whose header starts with
    ``header_start``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines)
                 if line.startswith(header_start))
    header = []
    for cell in lines[start].strip('|').split('|'):
        cell = cell.strip()
        header.append(cell if cell not in header else cell + ' (memory)')
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith('|'):
            break
        cells = [c.strip() for c in line.strip('|').split(' | ')]
        rows.append(dict(zip(header, cells)))
    return rows


def test_benchmark_vs_mmdet_quick(tmp_path):
    out = tmp_path / 'benchmark.md'
    out.write_text(DOC)
    _run('benchmark_vs_mmdet.py', [
        '--quick', '--threads', '1', '--channels-last', '--cases',
        'predict-vanilla', 'train-light', 'postproc-vanilla', '--candidates',
        '0', '100', 'all', '--out',
        str(out)
    ])
    text = out.read_text()
    # the results replaced the placeholder between the markers only
    assert text.startswith('# A document\n\nIntro that must survive.')
    assert text.rstrip().endswith('Closing text that must survive.')
    assert 'placeholder' not in text
    assert '| torch threads | 1 |' in text
    assert re.search(r'\| CPU \| .+ \|', text)

    (pred, ) = _table_rows(text, '| model | input | candidates')
    assert pred['model'] == 'vanilla' and pred['input'] == '128x224'
    assert abs(int(pred['candidates']) - 200) <= 10
    for key in ('mmsolo ms', 'mmdet ms', 'mmsolo MB', 'mmdet MB'):
        assert float(pred[key]) > 0
    for key in ('mmsolo/mmdet', 'mmsolo/mmdet (memory)'):  # time, memory
        assert float(pred[key]) > 0
    assert float(pred['mmsolo/mmdet']) == pytest.approx(
        float(pred['mmsolo ms']) / float(pred['mmdet ms']), abs=0.01)
    check = re.fullmatch(r'pass \((\d+) instances, .*\)',
                         pred['same predictions'])
    assert check and int(check.group(1)) > 0  # post-processing kept some

    (train, ) = _table_rows(text, '| model | input | mmsolo ms')
    assert train['model'] == 'light'
    assert float(train['mmsolo/mmdet']) > 0
    assert float(train['mmsolo/mmdet (memory)']) > 0
    assert train['same losses'].startswith('pass')
    ours = dict(kv.split('=') for kv in train['mmsolo losses'].split(', '))
    ref = dict(kv.split('=') for kv in train['mmdet losses'].split(', '))
    assert set(ours) == {'loss', 'loss_mask', 'loss_cls'} == set(ref)
    assert float(ours['loss_mask']) > 0 and float(ours['loss_cls']) > 0

    post = _table_rows(text, '| model | target | bias')
    assert [r['target'] for r in post] == ['0', '100', 'all']
    # "a / b" where the two counts differ: mmsolo runs channels last here,
    # and the bias puts the last candidate right at the threshold
    counts = [int(r['candidates'].split(' / ')[0]) for r in post]
    # 8 classes x (40^2 + 36^2 + 24^2 + 16^2 + 12^2) cells in quick mode
    assert counts[0] == 0 and abs(counts[1] - 100) <= 5
    assert counts[2] == 8 * 3872
    for row in post:
        assert row['same predictions'].startswith('pass'), row
        assert float(row['mmsolo ms']) >= 0 and float(row['mmdet ms']) >= 0
        assert float(row['mmsolo/mmdet']) >= 0
        assert float(row['mmsolo peak MB']) > 0


@pytest.mark.parametrize('extra', [[], ['--img-size', '64', '96']])
def test_benchmark_fps_quick(tmp_path, extra):
    out = tmp_path / 'fps.md'
    config = 'configs/solo/decoupled-solo-light_r50_fpn_3x_coco.py' \
        if extra else 'configs/solo/solo_r50_fpn_1x_coco.py'
    stdout = _run('benchmark.py', [
        config, '--quick', '--threads', '1', '--cls-bias', '-2', '--out',
        str(out)
    ] + extra)
    text = out.read_text()
    assert text.strip() in stdout
    rows = {r['stage']: r for r in _table_rows(text, '| stage |')}
    assert list(rows) == [
        'pipeline', 'preprocess', 'forward', 'postprocess', 'total'
    ]
    mean = {k: float(v['mean (ms)']) for k, v in rows.items()}
    assert all(v >= 0 for v in mean.values())
    total = mean['preprocess'] + mean['forward'] + mean['postprocess']
    assert abs(mean['total'] - total) <= 0.2  # rounding of the cells
    fps = float(re.search(r'\*\*FPS: ([\d.]+)\*\*', text).group(1))
    assert fps == pytest.approx(1e3 / mean['total'], rel=0.02)
    dets = float(re.search(r'([\d.]+) detections per image', text).group(1))
    assert dets > 0  # post-processing had work to do
    if extra:  # fed as is: the network input is the image
        assert '64x96 images (fed without resize), network input 64x96' \
            in text
    else:  # the quick pipeline resizes 64x96 to fit 160x96
        assert 'through the config test pipeline), network input 96x144' \
            in text


def _preds(rng, n, shape=(12, 16)):
    return dict(
        labels=rng.integers(0, 3, n),
        scores=np.sort(rng.uniform(0.1, 1, n))[::-1].astype(np.float32),
        masks=rng.uniform(size=(n, ) + shape) > 0.5)


def test_compare_predictions_notices_differences():
    rng = np.random.default_rng(0)
    ref = _preds(rng, 6)
    same = {k: v.copy() for k, v in ref.items()}
    assert vs.compare_predictions(same, ref)[0]
    # a different order of (near-)equal scores is matched, not failed
    swapped = {k: v.copy() for k, v in ref.items()}
    swapped['scores'][1] = swapped['scores'][2] = ref['scores'][1]
    ref_tied = {k: v.copy() for k, v in swapped.items()}
    for key in ('labels', 'masks'):
        swapped[key][[1, 2]] = swapped[key][[2, 1]]
    assert vs.compare_predictions(swapped, ref_tied)[0]

    fewer = {k: v[:-1] for k, v in ref.items()}
    assert not vs.compare_predictions(fewer, ref)[0]
    score = {k: v.copy() for k, v in ref.items()}
    score['scores'][3] += 1e-3
    assert not vs.compare_predictions(score, ref)[0]
    label = {k: v.copy() for k, v in ref.items()}
    label['labels'][0] = (label['labels'][0] + 1) % 3
    assert not vs.compare_predictions(label, ref)[0]
    mask = {k: v.copy() for k, v in ref.items()}
    mask['masks'][2, :3] = ~mask['masks'][2, :3]
    assert not vs.compare_predictions(mask, ref)[0]

    assert vs.compare_losses(dict(loss=1.0), dict(loss=1.0 + 1e-7))[0]
    assert not vs.compare_losses(dict(loss=1.0), dict(loss=1.01))[0]
    assert not vs.compare_losses(dict(loss=1.0), dict(loss_cls=1.0))[0]


def test_to_mmdet_cfg():
    ours, ref = vs.model_cfgs('decoupled', quick=True)
    assert ours['backbone']['type'] == 'mmdet.ResNet'
    assert ref['backbone']['type'] == 'ResNet'
    assert ref['mask_head']['loss_cls']['type'] == 'FocalLoss'
    assert ref['mask_head']['type'] == 'DecoupledSOLOHead'
    assert ours['backbone']['init_cfg'] is None  # no download
    assert 'nms_type' not in ref['test_cfg']
    ours_cl, ref_cl = vs.model_cfgs(
        'decoupled', quick=True, channels_last=True)
    assert ours_cl['channels_last'] is True and 'channels_last' not in ref_cl
    assert ref_cl == ref
    bad = dict(ours, test_cfg=dict(ours['test_cfg'], nms_type='mask'))
    with pytest.raises(ValueError, match='nms_type'):
        vs.to_mmdet_cfg(bad)
    bad = dict(ours, mask_head=dict(ours['mask_head'], num_coord_convs=2))
    with pytest.raises(ValueError, match='num_coord_convs'):
        vs.to_mmdet_cfg(bad)


def test_write_markdown_without_markers(tmp_path):
    path = tmp_path / 'new' / 'results.md'
    vs.write_markdown(str(path), 'BODY')
    text = path.read_text()
    assert 'BODY' in text and vs.RESULTS_START in text
    vs.write_markdown(str(path), 'SECOND')  # markers now exist: replaced
    text = path.read_text()
    assert 'SECOND' in text and 'BODY' not in text


def test_benchmark_vs_mmdet_solov2_quick(tmp_path):
    """SOLOv2 rows: the same predictions as mmdet's SOLOV2Head, in the
    predict and the post-processing cases. (With every pair a candidate,
    the tiny model's scores tie and the two sort them differently: the
    bounded memory is tested in test_solov2_head.py.)"""
    out = tmp_path / 'benchmark.md'
    _run('benchmark_vs_mmdet.py', [
        '--quick', '--threads', '1', '--cases', 'predict-solov2',
        'postproc-solov2', '--candidates', '100', '--out',
        str(out)
    ])
    text = out.read_text()
    (pred, ) = _table_rows(text, '| model | input | candidates')
    assert pred['model'] == 'solov2'
    assert pred['same predictions'].startswith('pass'), pred
    assert int(pred['candidates'].split(' / ')[0]) > 100
    (post, ) = _table_rows(text, '| model | target |')
    assert post['target'] == '100'
    assert post['same predictions'].startswith('pass'), post
    assert int(post['candidates'].split(' / ')[0]) >= 90

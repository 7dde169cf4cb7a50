# Copyright (c) mmsolo contributors. All rights reserved.
"""tools/analysis_tools/analyze_results.py on predictions of known AP."""
import json
import os
import os.path as osp
import subprocess
import sys

import mmcv
import pytest
from prediction_utils import (REPO_ROOT, TINY_CFG, data_options,
                              make_predictions)

SCRIPT = osp.join(REPO_ROOT, 'tools', 'analysis_tools', 'analyze_results.py')


def test_help():
    proc = subprocess.run([sys.executable, SCRIPT, '--help'],
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0 and '--topk' in proc.stdout


def test_per_image_ap_and_drawings(shapes_data_root, tmp_path):
    pkl = str(tmp_path / 'pred.pkl')
    truth = make_predictions(shapes_data_root, pkl)
    out_dir = tmp_path / 'analysis'
    proc = subprocess.run(
        [
            sys.executable, SCRIPT, TINY_CFG, pkl, '--out-dir',
            str(out_dir), '--topk', '1', '--cfg-options'
        ] + data_options(shapes_data_root),
        capture_output=True,
        text=True,
        env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(out_dir / 'per_image_mask_ap.json') as f:
        scores = json.load(f)
    assert len(scores) == len(truth)
    by_id = {s['img_id']: s for s in scores}
    for t in truth:
        # exact ground truth: AP 1 (the extra false positive and the
        # low-scored wrong copies rank below every true positive); wrong
        # classes, no prediction, or no ground truth: AP 0
        expected = float(t['kind'] == 'exact' and len(t['labels']) > 0)
        assert by_id[t['img_id']]['mask_ap'] == pytest.approx(expected), t
        assert by_id[t['img_id']]['num_gts'] == len(t['labels'])
    assert [s['mask_ap']
            for s in scores] == sorted([s['mask_ap'] for s in scores],
                                       reverse=True)
    # best and worst image, ground truth and predictions side by side
    for folder, score in (('good', scores[0]), ('bad', scores[-1])):
        files = os.listdir(out_dir / folder)
        name = osp.splitext(osp.basename(score['img_path']))[0]
        assert files == [f'{name}_{score["mask_ap"]:.3f}.png']
        drawn = mmcv.imread(str(out_dir / folder / files[0]))
        image = mmcv.imread(score['img_path'])
        assert drawn.shape[0] == image.shape[0]
        assert drawn.shape[1] == 2 * image.shape[1]

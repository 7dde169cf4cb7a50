# Copyright (c) mmsolo contributors. All rights reserved.
"""tools/analysis_tools/confusion_matrix.py on predictions of known kind."""
import json
import os
import os.path as osp
import subprocess
import sys

import mmcv
import numpy as np
from prediction_utils import (NUM_CLASSES, REPO_ROOT, TINY_CFG, data_options,
                              make_predictions, tiny_test_dataset)

SCRIPT = osp.join(REPO_ROOT, 'tools', 'analysis_tools', 'confusion_matrix.py')


def expected_matrix(truth: list) -> np.ndarray:
    """The counts the construction of the predictions implies."""
    bg = NUM_CLASSES
    matrix = np.zeros((NUM_CLASSES + 1, NUM_CLASSES + 1))
    for t in truth:
        for label in t['labels']:
            if t['kind'] == 'exact':
                matrix[label, label] += 1
            elif t['kind'] == 'relabel':
                matrix[label, (label + 1) % NUM_CLASSES] += 1
                matrix[label, bg] += 1  # missed: no prediction of its class
            else:
                matrix[label, bg] += 1
        matrix[bg, 0] += 1  # the 2x2-pixel false positive
    return matrix


def test_help():
    proc = subprocess.run([sys.executable, SCRIPT, '--help'],
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0 and '--tp-iou-thr' in proc.stdout


def test_mask_iou_confusion_matrix(shapes_data_root, tmp_path):
    pkl = str(tmp_path / 'pred.pkl')
    truth = make_predictions(shapes_data_root, pkl)
    # the expectation assumes no two instances overlap by IoU >= 0.5
    from pycocotools import mask as mask_utils
    dataset = tiny_test_dataset(shapes_data_root)
    for idx in range(len(dataset)):
        info = dataset.get_data_info(idx)
        rles = [
            mask_utils.merge(
                mask_utils.frPyObjects(i['mask'], info['height'],
                                       info['width']))
            for i in info['instances']
        ]
        if len(rles) > 1:
            ious = np.array(mask_utils.iou(rles, rles, [0] * len(rles)))
            assert (ious[~np.eye(len(rles), dtype=bool)] < 0.5).all()
    assert sum(len(t['labels']) for t in truth) > 0
    out_dir = tmp_path / 'cm'
    proc = subprocess.run(
        [
            sys.executable, SCRIPT, TINY_CFG, pkl, '--out-dir',
            str(out_dir), '--cfg-options'
        ] + data_options(shapes_data_root),
        capture_output=True,
        text=True,
        env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(out_dir / 'confusion_matrix.json') as f:
        result = json.load(f)
    assert result['labels'][-1] == 'background'
    assert len(result['labels']) == NUM_CLASSES + 1
    np.testing.assert_array_equal(result['counts'], expected_matrix(truth))
    picture = mmcv.imread(str(out_dir / 'confusion_matrix.png'))
    assert picture.shape[0] > 300 and picture.std() > 0


def test_matching_is_by_mask_not_box():
    """Two L-shaped masks with the same box: boxes match, masks do not."""
    sys.path.insert(0, osp.dirname(SCRIPT))
    import confusion_matrix as cm
    from pycocotools import mask as mask_utils
    a = np.zeros((20, 20), np.uint8)
    a[:, :4] = 1
    a[-4:, :] = 1
    b = np.zeros_like(a)
    b[:4, :] = 1
    b[:, -4:] = 1

    def rle(mask):
        return mask_utils.encode(np.asfortranarray(mask))

    matrix = np.zeros((3, 3))
    cm.analyze_per_img_dets(
        matrix, dict(labels=np.array([0]), masks=[rle(a)]),
        dict(labels=np.array([0]), scores=np.array([0.9]), masks=[rle(b)]))
    # no match: one false positive on the background, one missed instance
    np.testing.assert_array_equal(matrix, [[0, 0, 1], [0, 0, 0], [1, 0, 0]])

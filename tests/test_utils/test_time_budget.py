# Copyright (c) mmsolo contributors. All rights reserved.
"""Planning the quick start's epochs from a calibration run."""
import json

import pytest

from mmsolo.utils.time_budget import (Calibration, after_training_s,
                                      describe_cpu, plan_epochs,
                                      precision_used, read_calibration)


def test_read_calibration(tmp_path):
    rows = [
        dict(loss=3.0, time=0.9, step=10),  # first window: slow
        dict(loss=2.0, time=0.5, step=20),
        dict(loss=1.0, time=0.4, step=30),
        {
            'coco/segm_mAP': 0.1,
            'time': 2.0,
            'step': 1
        }  # val, batch of 8
    ]
    path = tmp_path / 'scalars.json'
    path.write_text('\n'.join(json.dumps(r) for r in rows))
    calib = read_calibration(str(path), 40.0, 30, 16, 8)
    assert calib.iter_s == 0.4
    assert calib.val_image_s == pytest.approx(2.0 * 2 / 16)
    # the slow first window is training time, not start-up
    assert calib.overhead_s == pytest.approx(40 - (9 + 5 + 4) - 4.0)


def test_read_calibration_of_two_epochs(tmp_path):
    """A calibration of a resolution schedule: epoch 1 at the lower
    resolution, epoch 2 at the config's."""
    rows = [
        dict(loss=3.0, time=0.5, step=10, epoch=1),
        dict(loss=2.0, time=0.25, step=20, epoch=1),
        dict(loss=1.5, time=0.5, step=30, epoch=2),
        dict(loss=1.0, time=0.4, step=40, epoch=2)
    ]
    path = tmp_path / 'scalars.json'
    path.write_text('\n'.join(json.dumps(r) for r in rows))
    calib = read_calibration(str(path), 30.0, 40, 16, 8)
    assert (calib.iter_s, calib.low_iter_s) == (0.4, 0.25)
    assert calib.overhead_s == pytest.approx(30 - (5 + 2.5 + 5 + 4))
    # one epoch: no lower-resolution figure
    path.write_text('\n'.join(json.dumps(r) for r in rows[:2]))
    assert read_calibration(str(path), 30.0, 20, 16, 8).low_iter_s is None


def test_calibration_counts_loading_of_the_second_epoch(tmp_path):
    """The first epoch loads every image for the first time: the lower
    resolution's iteration is its compute plus the second epoch's (cached)
    loading."""
    rows = [
        dict(loss=2.0, time=0.30, data_time=0.10, step=10, epoch=1),
        dict(loss=1.0, time=0.40, data_time=0.02, step=20, epoch=2)
    ]
    path = tmp_path / 'scalars.json'
    path.write_text('\n'.join(json.dumps(r) for r in rows))
    calib = read_calibration(str(path), 30.0, 20, 16, 8)
    assert calib.low_iter_s == pytest.approx(0.30 - 0.10 + 0.02)
    assert calib.iter_s == pytest.approx(0.40)


def test_plan_epochs_with_cheaper_first_epochs():
    """125 s an epoch, 50 s at the lower resolution; 734 s for training:
    5 epochs at full cost; half of 8 cheaper: 4 x 50 + 4 x 125 = 700 s (9:
    4 x 50 + 5 x 125 = 825 s does not fit)."""
    calib = Calibration(0.5, 0.1, 10., low_iter_s=0.2)
    left = 900 * 0.95 - 60 - (10 + 10 + 40.8)
    assert plan_epochs(900, 60, Calibration(0.5, 0.1, 10.), 250, 100,
                       8) == int(left // 125) == 5
    assert plan_epochs(900, 60, calib, 250, 100, 8, low_fraction=0.5) == 8
    assert plan_epochs(
        900, 60, calib, 250, 100, 8, max_epochs=7, low_fraction=0.5) == 7
    with pytest.raises(ValueError, match='low_iter_s'):
        plan_epochs(
            900, 60, Calibration(0.5, 0.1, 10.), 250, 100, 8, low_fraction=0.5)


def test_plan_epochs_fills_the_budget():
    calib = Calibration(iter_s=0.5, val_image_s=0.1, overhead_s=10.)
    # 250 iterations: 125 s an epoch; after training: 2 x 10 s val, 2 starts,
    # 8 pictures
    assert after_training_s(calib, 100, 8) == pytest.approx(40.8)
    epochs = plan_epochs(900, 60, calib, 250, 100, 8, margin=0.05)
    fixed = 10 + 10 + 40.8
    assert epochs == int((900 * 0.95 - 60 - fixed) // 125) == 5
    # a faster machine trains longer, a bound caps it, never below one
    fast = Calibration(0.15, 0.1, 10.)  # 37.5 s an epoch
    assert plan_epochs(900, 60, fast, 250, 100, 8) == \
        int((900 * 0.95 - 60 - fixed) // 37.5) == 19
    assert plan_epochs(900, 60, calib, 250, 100, 8, max_epochs=3) == 3
    assert plan_epochs(60, 60, calib, 250, 100, 8) == 1


def test_describe_cpu_and_precision():
    text = describe_cpu()
    assert '(' in text and text.endswith(')')
    assert precision_used('OptimWrapper') == 'float32'
    assert precision_used('BF16OptimWrapper') in ('bfloat16', 'float32')


def test_describe_cpu_names_the_isa_cap(monkeypatch):
    from mmsolo.utils import cpu_info
    monkeypatch.setattr(
        cpu_info, 'cpu_flags',
        lambda: frozenset({'sse2', 'avx2', 'avx512f', 'avx512_bf16'}))
    monkeypatch.setenv('ONEDNN_MAX_CPU_ISA', '')
    assert 'AVX512-BF16, AVX-512, AVX2)' in describe_cpu()
    monkeypatch.setenv('ONEDNN_MAX_CPU_ISA', 'avx2')
    assert describe_cpu().endswith('(AVX2, ONEDNN_MAX_CPU_ISA=AVX2)')
    assert precision_used('BF16OptimWrapper') == 'float32'

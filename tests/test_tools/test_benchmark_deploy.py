# Copyright (c) mmsolo contributors. All rights reserved.
"""tools/analysis_tools/benchmark_deploy.py: PyTorch vs ONNX runtimes."""
import os.path as osp
import subprocess
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO_ROOT, 'tools', 'analysis_tools', 'benchmark_deploy.py')


def test_quick_table_with_checked_outputs(tmp_path):
    out = tmp_path / 'table.md'
    proc = subprocess.run([
        sys.executable, TOOL,
        osp.join(REPO_ROOT, 'configs', 'solo',
                 'decoupled-solo_r50_fpn_3x_coco.py'), '--quick', '--cls-bias',
        '-2', '--out',
        str(out)
    ],
                          capture_output=True,
                          text=True,
                          cwd=REPO_ROOT,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [
        line.split('|')[1:-1] for line in out.read_text().splitlines()
        if line.startswith('| decoupled')
    ]
    assert [r[2].strip()
            for r in rows] == ['pytorch', 'onnxruntime', 'openvino']
    assert rows[0][-1].strip() == '(reference)'
    for row in rows:
        assert float(row[3]) > 0 and float(row[5]) > 0  # ms, MiB
        assert float(row[7]) > 0  # the post-processing had instances
    # every runtime's outputs equal PyTorch's on every image
    assert [r[-1].strip() for r in rows[1:]] == ['yes', 'yes']
    assert 'onnxruntime' in out.read_text() and 'CPU' in out.read_text()


def test_random_weights_come_from_the_seed():
    """The parent exports and every worker loads the same weights; the whole
    model (not only the output convs) is drawn from ``--seed``, so that a
    run's outputs, and their check, are the same in every run."""
    import argparse

    import torch
    sys.path.insert(0, osp.dirname(TOOL))
    import benchmark as bench

    from mmsolo.utils.tool_config import load_tool_config
    cfg = load_tool_config(
        osp.join(REPO_ROOT, 'configs', 'solo',
                 'decoupled-solo_r50_fpn_3x_coco.py'))

    def weights(seed):
        args = argparse.Namespace(
            quick=True, checkpoint=None, seed=seed, cls_bias=-2., device='cpu')
        return bench.build_model(cfg, args).state_dict()

    first, again, other = weights(0), weights(0), weights(1)
    assert all(torch.equal(first[k], again[k]) for k in first)
    conv = 'backbone.conv1.weight'
    assert not torch.equal(first[conv], other[conv])

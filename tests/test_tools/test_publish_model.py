# Copyright (c) mmsolo contributors. All rights reserved.
"""tools/model_converters/publish_model.py."""
import hashlib
import os
import os.path as osp
import subprocess
import sys

import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(REPO_ROOT, 'tools', 'model_converters', 'publish_model.py')


def test_help():
    proc = subprocess.run([sys.executable, SCRIPT, '--help'],
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0 and '--save-keys' in proc.stdout


def test_drops_training_state_and_names_by_sha256(tmp_path):
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(4, 3)).sum().backward()
    optimizer.step()  # momentum buffers in the optimizer state
    ckpt = tmp_path / 'epoch_1.pth'
    torch.save(
        dict(
            meta=dict(epoch=1, dataset_meta=dict(classes=('a', 'b'))),
            state_dict=model.state_dict(),
            optimizer=optimizer.state_dict(),
            param_schedulers=[dict(last_epoch=1)]), ckpt)
    out_dir = tmp_path / 'publish'
    proc = subprocess.run(
        [sys.executable, SCRIPT,
         str(ckpt),
         str(out_dir / 'tiny.pth')],
        capture_output=True,
        text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    files = os.listdir(out_dir)
    assert len(files) == 1
    published = out_dir / files[0]
    with open(published, 'rb') as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    assert files[0] == f'tiny-{sha[:8]}.pth'
    loaded = torch.load(published, weights_only=True)
    assert set(loaded) == {'meta', 'state_dict'}
    assert loaded['meta']['dataset_meta']['classes'] == ('a', 'b')
    for key, value in model.state_dict().items():
        assert torch.equal(loaded['state_dict'][key], value)
    assert osp.getsize(published) < osp.getsize(ckpt)

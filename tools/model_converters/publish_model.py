# Copyright (c) mmsolo contributors. All rights reserved.
"""Prepare a checkpoint for release: keep the weights, add the hash.

Only the ``--save-keys`` (``meta`` and ``state_dict``) are kept: optimizer
state, parameter schedulers and the message hub are dropped. The file is
written as ``OUT-<first 8 hex digits of its sha256>.pth``, as OpenMMLab
model zoos name their checkpoints.

Example::

    python tools/model_converters/publish_model.py \\
        work_dirs/quickstart/epoch_21.pth solo_r18_shapes.pth
    # -> solo_r18_shapes-1a2b3c4d.pth
"""
import argparse
import hashlib
import os
from typing import Optional, Sequence

import torch
from mmengine.logging import print_log

from mmsolo.utils import load_checkpoint_file

#: What a published checkpoint keeps by default.
SAVE_KEYS = ('meta', 'state_dict')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description='Process a checkpoint to be published')
    parser.add_argument('in_file', help='input checkpoint filename')
    parser.add_argument('out_file', help='output checkpoint filename')
    parser.add_argument(
        '--save-keys',
        nargs='+',
        type=str,
        default=list(SAVE_KEYS),
        help='keys to save in the published checkpoint')
    return parser.parse_args(argv)


def sha256sum(path: str) -> str:
    """Hex sha256 digest of a file."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def process_checkpoint(in_file: str,
                       out_file: str,
                       save_keys: Sequence[str] = SAVE_KEYS) -> str:
    """Keep ``save_keys`` of a checkpoint and save it under its hash.

    Args:
        in_file (str): The training checkpoint (loaded with
            ``weights_only=True``).
        out_file (str): Output name; ``.pth`` is replaced by
            ``-<sha256[:8]>.pth``.
        save_keys (Sequence[str]): Top-level keys to keep.

    Returns:
        str: Path of the published file.
    """
    checkpoint = load_checkpoint_file(in_file, map_location='cpu')
    for key in list(checkpoint):
        if key not in save_keys:
            print_log(
                f'Key `{key}` will be removed because it is not in '
                'save_keys. If you want to keep it, please set --save-keys.',
                logger='current')
            checkpoint.pop(key)
    out_dir = os.path.dirname(os.path.abspath(out_file))
    os.makedirs(out_dir, exist_ok=True)
    torch.save(checkpoint, out_file)
    stem = out_file[:-4] if out_file.endswith('.pth') else out_file
    final_file = f'{stem}-{sha256sum(out_file)[:8]}.pth'
    os.replace(out_file, final_file)
    print_log(
        f'The published model is saved at {final_file}.', logger='current')
    return final_file


def main(argv: Optional[Sequence[str]] = None) -> str:
    """Publish the checkpoint named on the command line."""
    args = parse_args(argv)
    return process_checkpoint(args.in_file, args.out_file, args.save_keys)


if __name__ == '__main__':
    main()

# Copyright (c) mmsolo contributors. All rights reserved.
"""Convert the SOLO authors' checkpoints (WXinlong/SOLO, mmdet v1) to mmsolo.

Usage::

    python tools/model_converters/solo_original_to_mmsolo.py IN.pth OUT.pth

The authors' head lives under ``bbox_head.`` with their own layer names;
mmsolo (like mmdet 3.x) uses ``mask_head.`` and mmdet's names. Backbone and
FPN keys are unchanged. The head type (vanilla, decoupled or
decoupled-light) is detected from the keys and printed, so you know which
config to pair the converted file with.
"""
import argparse
import os.path as osp
import re
from collections import OrderedDict
from typing import Dict, Tuple

import torch

# (pattern in the authors' head, replacement in mmsolo's head)
HEAD_KEY_MAP = [
    (r'^ins_convs_x\.', 'mask_convs_x.'),
    (r'^ins_convs_y\.', 'mask_convs_y.'),
    (r'^ins_convs\.', 'mask_convs.'),
    (r'^cate_convs\.', 'cls_convs.'),
    (r'^solo_ins_list\.', 'conv_mask_list.'),
    (r'^dsolo_ins_list_x\.', 'conv_mask_list_x.'),
    (r'^dsolo_ins_list_y\.', 'conv_mask_list_y.'),
    (r'^solo_cate\.', 'conv_cls.'),
    (r'^dsolo_cate\.', 'conv_cls.'),
]

HEAD_TYPES = {
    'vanilla': 'SOLOHead',
    'decoupled': 'DecoupledSOLOHead',
    'light': 'DecoupledSOLOLightHead',
}


def detect_head(state_dict: Dict[str, torch.Tensor]) -> str:
    """Tell the authors' head kind from its keys.

    Args:
        state_dict (dict): The authors' state dict.

    Returns:
        str: ``'vanilla'``, ``'decoupled'`` or ``'light'``.
    """
    keys = [k for k in state_dict if k.startswith('bbox_head.')]
    if any('.ins_convs_x.' in k for k in keys):
        return 'decoupled'
    if any('.dsolo_ins_list_x.' in k for k in keys):
        return 'light'
    if any('.solo_ins_list.' in k for k in keys):
        return 'vanilla'
    raise ValueError('No SOLO head found: expected keys such as '
                     '"bbox_head.solo_ins_list.0.weight" or '
                     '"bbox_head.dsolo_ins_list_x.0.weight".')


def convert_key(key: str) -> str:
    """Map one key of the authors' checkpoint to mmsolo's name.

    Args:
        key (str): The authors' key.

    Returns:
        str: mmsolo's key.

    Raises:
        KeyError: For a head key with no known mapping.
    """
    if not key.startswith('bbox_head.'):
        return key
    rest = key[len('bbox_head.'):]
    for pattern, repl in HEAD_KEY_MAP:
        if re.match(pattern, rest):
            return 'mask_head.' + re.sub(pattern, repl, rest, count=1)
    raise KeyError(f'Unknown SOLO head key: {key}')


def convert(checkpoint: dict) -> Tuple[dict, str]:
    """Convert a loaded checkpoint.

    Args:
        checkpoint (dict): The authors' checkpoint (with ``state_dict``) or
            a bare state dict.

    Returns:
        tuple: ``(mmsolo_checkpoint, head_kind)``.
    """
    state_dict = checkpoint.get('state_dict', checkpoint)
    kind = detect_head(state_dict)
    converted = OrderedDict()
    for key, value in state_dict.items():
        new_key = convert_key(key)
        if new_key in converted:
            raise KeyError(f'Two keys map to {new_key}')
        converted[new_key] = value
    meta = dict(checkpoint.get('meta', {}) or {})
    meta['converted_from'] = 'WXinlong/SOLO (mmdet v1)'
    meta['mask_head_type'] = HEAD_TYPES[kind]
    return dict(meta=meta, state_dict=converted), kind


def parse_args():
    parser = argparse.ArgumentParser(
        description='Convert an original SOLO checkpoint to mmsolo')
    parser.add_argument('src', help='the authors\' checkpoint')
    parser.add_argument('dst', help='where to save the converted checkpoint')
    return parser.parse_args()


def main():
    args = parse_args()
    if not osp.isfile(args.src):
        raise FileNotFoundError(f'{args.src} does not exist')
    # The authors' files hold plain tensors, dicts and numbers, so the
    # restricted (weights-only) unpickler reads them.
    checkpoint = torch.load(args.src, map_location='cpu', weights_only=True)
    converted, kind = convert(checkpoint)
    torch.save(converted, args.dst)
    print(f'Converted {len(converted["state_dict"])} tensors of a {kind} '
          f'SOLO ({HEAD_TYPES[kind]}) to {args.dst}')


if __name__ == '__main__':
    main()

# Copyright (c) mmsolo contributors. All rights reserved.
"""The mmdet 3.x equivalent of an mmsolo SOLO model config.

mmsolo's heads take every argument of mmdet's (same names, same meaning)
plus their own options. Which options those are is read from the classes
themselves (their ``__init__`` signatures against mmdet's), and each head
says which of them only change *how* the results are computed
(``result_neutral_args``); every other option gives mmdet's results only
at its default. The same holds for ``test_cfg`` (:data:`MMDET_TEST_KEYS`).
Tools that compare mmsolo with mmdet (``benchmark_vs_mmdet.py``) and the
equivalence tests convert configs with :func:`to_mmdet_model_cfg`.
"""
import copy
import inspect
from typing import Any, Dict, Iterable

from mmsolo.registry import MODELS
from .base_solo_head import DEFAULT_TEST_CFG

#: the test_cfg keys that mmdet's SOLO heads read
MMDET_TEST_KEYS = ('nms_pre', 'score_thr', 'mask_thr', 'filter_thr', 'kernel',
                   'sigma', 'max_per_img')
#: mmsolo-only test_cfg keys without effect on mmdet-equivalent settings
#: (``iou_thr`` is read by mask NMS only)
NEUTRAL_TEST_KEYS = ('iou_thr', )


def init_args(cls: type) -> Dict[str, Any]:
    """Named ``__init__`` arguments of a class and its bases, with defaults
    (``inspect.Parameter.empty`` where there is none)."""
    args: Dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        if '__init__' not in vars(klass):
            continue
        for name, param in inspect.signature(
                vars(klass)['__init__']).parameters.items():
            if name != 'self' and param.kind not in (param.VAR_POSITIONAL,
                                                     param.VAR_KEYWORD):
                args[name] = param.default
    return args


def mmsolo_only_args(head_cls: type) -> Dict[str, Any]:
    """Arguments of an mmsolo head that its mmdet counterpart lacks, with
    the mmsolo defaults (mmdet's behaviour)."""
    from mmdet.registry import MODELS as MMDET_MODELS
    ref = MMDET_MODELS.get(head_cls.mmdet_type)
    if ref is None:
        raise ValueError(f'mmdet has no {head_cls.mmdet_type}')
    theirs = init_args(ref)
    return {k: v for k, v in init_args(head_cls).items() if k not in theirs}


def _drop(sub: dict, only: Dict[str, Any], neutral: Iterable[str],
          part: str) -> None:
    for key, default in only.items():
        if key not in sub:
            continue
        value = sub.pop(key)
        if key in neutral:
            continue
        same = tuple(value) == tuple(default) if isinstance(
            default, (list, tuple)) and isinstance(value,
                                                   (list, tuple)) else \
            value == default
        if not same:
            raise ValueError(f'{part}.{key} has no mmdet equivalent '
                             f'unless it is {default!r}')


def strip_mmdet_scope(obj: Any) -> Any:
    """Drop ``mmdet.`` from every ``type`` of a (nested) config."""
    if isinstance(obj, dict):
        out = {k: strip_mmdet_scope(v) for k, v in obj.items()}
        if isinstance(out.get('type'), str) and \
                out['type'].startswith('mmdet.'):
            out['type'] = out['type'][len('mmdet.'):]
        return out
    if isinstance(obj, (list, tuple)):
        return type(obj)(strip_mmdet_scope(v) for v in obj)
    return obj


def to_mmdet_model_cfg(model_cfg: dict) -> dict:
    """The mmdet 3.x equivalent of an mmsolo SOLO model config.

    Args:
        model_cfg (dict): An mmsolo ``SOLO`` model config (mmdet's modules
            with or without the ``mmdet.`` prefix).

    Returns:
        dict: The config in mmdet's scope (no prefixes): mmdet's head type,
        mmsolo-only options removed.

    Raises:
        ValueError: If the config sets an mmsolo-only option to a value
            mmdet cannot reproduce (e.g. ``nms_type='mask'``).
    """
    cfg = strip_mmdet_scope(copy.deepcopy(dict(model_cfg)))
    cfg.pop('channels_last', None)  # a memory format, same results
    head = cfg['mask_head']
    head_cls = MODELS.get(head['type'].split('.')[-1])
    _drop(head, mmsolo_only_args(head_cls), head_cls.result_neutral_args,
          'mask_head')
    head['type'] = head_cls.mmdet_type
    test_only = {
        k: v
        for k, v in DEFAULT_TEST_CFG.items() if k not in MMDET_TEST_KEYS
    }
    for part in ('test_cfg', ):
        for sub in (cfg.get(part), head.get(part)):
            if sub:
                _drop(sub, test_only, NEUTRAL_TEST_KEYS, part)
    return cfg

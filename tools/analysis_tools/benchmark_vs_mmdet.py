# Copyright (c) mmsolo contributors. All rights reserved.
"""Speed, memory and agreement of mmsolo's SOLO against mmdet 3.x's SOLO.

Both models are built from equivalent configs (mmsolo's ``configs/solo``
files; the mmdet version is derived by dropping the ``mmdet.`` prefixes and
mmsolo-only options that are at their defaults), with the same random
weights (fixed seed, no pretrained download) and run on the same generated
image. Every measurement (one case, one implementation) runs in a fresh
process, forked from a server process that has only imported
torch/mmdet/mmsolo (``--start-method spawn`` for a fully fresh
interpreter), under an address-space cap on CPU so that a blow-up reports
"failed (>cap)" instead of taking the machine down.

Cases (``--cases`` takes names or shell patterns, e.g. ``'predict-*'``):

- ``predict-{vanilla,decoupled,light,solo512,solov2,solov2light}``:
  ``model.test_step`` on
  one image (data pre-processing + forward + post-processing + mask
  pasting at the image size), median of ``--repeats`` after ``--warmup``;
  peak memory; predictions of both compared.
- ``train-{vanilla,decoupled,light,solov2}``: ``model.train_step`` with SGD,
  batch
  1, the same image with ``--num-gts`` random instances; time, peak memory
  and the first step's losses of both.
- ``postproc-{vanilla,decoupled,solov2}``: ``mask_head.predict_by_feat`` on
  the
  same head outputs while the category bias is set so that about
  ``--candidates`` (cell, class) pairs pass ``score_thr`` after point NMS
  (``all``: every pair); time and the memory it adds.

Example (the full measurement, ~30-45 min on 2 idle CPU cores)::

    python tools/analysis_tools/benchmark_vs_mmdet.py \
        --out docs/benchmark.md

Smoke test (tiny ResNet-18 model and images)::

    python tools/analysis_tools/benchmark_vs_mmdet.py --quick
"""
import argparse
import contextlib
import copy
import fnmatch
import gc
import json
import math
import os
import os.path as osp
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from typing import Dict, List, Optional, Tuple

import numpy as np

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import benchmark as bench  # noqa: E402  (shared helpers, same folder)

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

#: model name -> (mmsolo config, network input (H, W) as in its test setting)
MODELS = {
    'vanilla': ('configs/solo/solo_r50_fpn_1x_coco.py', (800, 1333)),
    'decoupled':
    ('configs/solo/decoupled-solo_r50_fpn_1x_coco.py', (800, 1333)),
    'light':
    ('configs/solo/decoupled-solo-light_r50_fpn_3x_coco.py', (512, 852)),
    'solo512': ('configs/solo/solo-512_r50_fpn_6x_coco.py', (512, 852)),
    'solov2': ('configs/solov2/solov2_r50_fpn_1x_coco.py', (800, 1333)),
    'solov2light':
    ('configs/solov2/solov2-light_r50_fpn_ms-3x_coco.py', (448, 768)),
}
QUICK_SIZES = {
    'vanilla': (128, 224),
    'decoupled': (128, 224),
    'light': (96, 160),
    'solo512': (96, 160),
    'solov2': (128, 224),
    'solov2light': (96, 160),
}
CASES = ([
    f'predict-{m}' for m in ('vanilla', 'decoupled', 'light', 'solo512',
                             'solov2', 'solov2light')
] + [f'train-{m}' for m in ('vanilla', 'decoupled', 'light', 'solov2')] +
         [f'postproc-{m}' for m in ('vanilla', 'decoupled', 'solov2')])
IMPLS = ('mmsolo', 'mmdet')

ALL_BIAS = 40.0  # sigmoid(40 + z) == 1 in float32: every pair passes
NONE_BIAS = -40.0


# ---------------------------------------------------------------------------
# configs
def to_mmdet_cfg(model_cfg: dict) -> dict:
    """The mmdet 3.x equivalent of an mmsolo SOLO model config (the
    package's :func:`~mmsolo.models.dense_heads.mmdet_compat.
    to_mmdet_model_cfg`: mmsolo-only options read from the heads).

    Raises:
        ValueError: If the config uses an mmsolo-only option at a value
            mmdet cannot reproduce (e.g. ``nms_type='mask'``).
    """
    from mmsolo.models.dense_heads.mmdet_compat import to_mmdet_model_cfg
    return to_mmdet_model_cfg(model_cfg)


def model_cfgs(name: str,
               quick: bool,
               channels_last: Optional[bool] = None) -> Tuple[dict, dict]:
    """(mmsolo, mmdet) model configs of a benchmark model, random init.

    ``channels_last`` (True/False) overrides mmsolo's memory format; None
    keeps the config's. mmdet's model has no such option (NCHW).
    """
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO_ROOT, MODELS[name][0]))
    model = cfg.model.to_dict()
    model['backbone']['init_cfg'] = None  # no pretrained download
    if channels_last is not None:
        model['channels_last'] = channels_last
    if quick:
        model = bench.shrink_model_cfg(model)
    return model, to_mmdet_cfg(model)


def input_size(name: str, quick: bool) -> Tuple[int, int]:
    return QUICK_SIZES[name] if quick else MODELS[name][1]


# ---------------------------------------------------------------------------
# data
def make_data(size: Tuple[int, int], seed: int, num_gts: int,
              num_classes: int) -> dict:
    """One image (as the test pipeline would give it) with random GTs.

    The network input is the image itself (``img_shape == ori_shape``),
    so predicted masks are pasted at ``size``.
    """
    import torch
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData
    rng = np.random.default_rng(seed)
    h, w = size
    img, masks = bench.synthetic_image(rng, h, w, num_gts)
    sample = DetDataSample()
    sample.set_metainfo(
        dict(
            img_id=0,
            img_path=None,
            img_shape=(h, w),
            ori_shape=(h, w),
            scale_factor=(1., 1.)))
    gt = InstanceData()
    bitmap = BitmapMasks(masks, h, w)
    gt.masks = bitmap
    gt.bboxes = bitmap.get_bboxes(dst_type='hbox').tensor
    gt.labels = torch.from_numpy(rng.integers(0, num_classes, num_gts)).long()
    sample.gt_instances = gt
    inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
    return dict(inputs=[inputs], data_samples=[sample])


def count_candidates(cls_preds,
                     bias: float = 0.,
                     thr: float = 0.1,
                     activated: bool = False) -> int:
    """(cell, class) pairs above ``thr`` after point NMS.

    Args:
        cls_preds (list[Tensor]): Per level (N, C, S, S): logits, or (when
            ``activated``) scores after sigmoid and point NMS as mmdet's
            test-mode forward gives them.
        bias (float): Added to the logits first.
        thr (float): Score threshold.
        activated (bool): See ``cls_preds``.
    """
    import torch
    import torch.nn.functional as F
    total = 0
    for pred in cls_preds:
        if not activated:
            scores = torch.sigmoid(pred.float() + bias)
            local_max = F.max_pool2d(scores, 2, stride=1, padding=1)
            scores = scores * (local_max[:, :, :-1, :-1] == scores)
        else:
            scores = pred
        total += int((scores > thr).sum())
    return total


def bias_for(cls_logits, target, thr: float) -> float:
    """The category bias that lets about ``target`` pairs pass ``thr``.

    ``target`` is an int or ``'all'``. Bisection on the (non-decreasing)
    candidate count; returns the smallest bias whose count reaches target.
    """
    if target == 'all':
        return ALL_BIAS
    if int(target) <= 0:
        return NONE_BIAS
    lo, hi = NONE_BIAS, ALL_BIAS
    for _ in range(60):
        mid = (lo + hi) / 2
        if count_candidates(cls_logits, mid, thr) >= int(target):
            hi = mid
        else:
            lo = mid
    return hi


# ---------------------------------------------------------------------------
# worker side (runs in a fresh process)
def _set_threads(threads: int) -> None:
    import torch
    torch.set_num_threads(threads)


def _current_rss() -> int:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


def _vm_hwm() -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) * 1024
    raise OSError('no VmHWM')


def _vm_peak() -> Optional[int]:
    """Peak virtual size (what ``RLIMIT_AS`` limits), bytes."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmPeak:'):
                return int(line.split()[1]) * 1024
    return None


def _malloc_trim() -> None:
    """Give freed heap memory back to the OS (glibc), for a clean base."""
    try:
        import ctypes
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except (OSError, AttributeError):
        pass


class PeakMemory:
    """Peak memory of a code section.

    CPU: the resident set size high-water mark (``VmHWM``), reset at the
    start of the section through ``/proc/self/clear_refs`` after a garbage
    collection and ``malloc_trim`` (where the kernel refuses the reset, the
    whole process's ``ru_maxrss`` is used: ``exact`` becomes False). CUDA:
    ``torch.cuda.max_memory_allocated`` after resetting the peak stats.
    """

    def __init__(self, device: str):
        self.device = device
        self.exact = True
        self.base = 0

    def start(self) -> None:
        import torch
        gc.collect()
        if self.device.startswith('cuda'):
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.base = torch.cuda.memory_allocated()
            return
        _malloc_trim()
        self.base = _current_rss()
        try:
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')
        except OSError:
            self.exact = False

    def stop(self) -> Tuple[int, int]:
        """(peak bytes, bytes at start)."""
        import torch
        if self.device.startswith('cuda'):
            torch.cuda.synchronize()
            return torch.cuda.max_memory_allocated(), self.base
        if self.exact:
            return _vm_hwm(), self.base
        import resource
        return resource.getrusage(
            resource.RUSAGE_SELF).ru_maxrss * 1024, self.base


def _timed_calls(fn, task: dict, peak: PeakMemory, result: dict) -> list:
    """Call ``fn(i)`` ``warmup + repeats`` times.

    Memory is measured during the first call (of a fresh process, with the
    allocator's free lists trimmed), times of the calls after the warm-up.

    Returns:
        list[float]: Seconds of the timed calls.
    """
    times = []
    for i in range(task['warmup'] + task['repeats']):
        if i == 0:
            peak.start()
        t0 = time.perf_counter()
        fn(i)
        bench.synchronize(task['device'])
        elapsed = time.perf_counter() - t0
        if i == 0:
            result['peak'], result['base'] = peak.stop()
            result['first_time'] = elapsed
        if i >= task['warmup']:
            times.append(elapsed)
    return times


def _build(impl: str, cfg: dict, weights: Optional[str] = None):
    """Build one implementation's model; load ``weights`` strictly."""
    import torch
    from mmengine.config import ConfigDict
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope
    MMLogger.get_current_instance().setLevel('WARNING')
    if impl == 'mmdet':
        from mmdet.registry import MODELS as REGISTRY
    else:
        from mmsolo.registry import MODELS as REGISTRY
    init_default_scope(impl)
    model = REGISTRY.build(ConfigDict(copy.deepcopy(cfg)))
    if weights is not None:
        state = torch.load(
            weights, map_location='cpu', weights_only=True, mmap=True)
        model.load_state_dict(state, strict=True)
    return model


@contextlib.contextmanager
def cls_logits(model):
    """Collect the category logits of every level while inside (a hook on
    ``conv_cls``, which mmdet's and mmsolo's SOLO heads all have)."""
    logits = []
    hook = model.mask_head.conv_cls.register_forward_hook(
        lambda module, args, output: logits.append(output.detach()))
    try:
        yield logits
    finally:
        hook.remove()


def _set_cls_bias(model, bias: float) -> None:
    import torch
    with torch.no_grad():
        model.mask_head.conv_cls.bias.fill_(bias)


def _save_predictions(path: str, pred) -> dict:
    """Save labels, scores and (bit-packed) masks; return a summary."""
    masks = pred.masks
    masks = masks.detach().bool().cpu().numpy() if hasattr(
        masks, 'cpu') else np.asarray(masks).astype(bool)
    np.savez(
        path,
        labels=pred.labels.detach().long().cpu().numpy(),
        scores=pred.scores.detach().float().cpu().numpy(),
        masks=np.packbits(
            masks.reshape(len(masks), int(np.prod(masks.shape[1:]))), axis=1),
        shape=np.array(masks.shape))
    return dict(num_instances=len(masks))


def _prepare(task: dict) -> dict:
    """Weights shared by both implementations, and the category biases."""
    import torch
    torch.manual_seed(task['seed'])
    model = _build('mmdet', task['mmdet_cfg'])
    bench.quiet_init_weights(model)
    bench.spread_output_convs(model, seed=task['seed'])
    _set_cls_bias(model, 0.)
    torch.save(model.state_dict(), task['weights'])
    # raw category logits (bias 0) of the benchmark image: train-mode
    # forward of the head (backbone BN stays frozen: norm_eval=True)
    data = make_data(task['size'], task['seed'], task['num_gts'],
                     task['num_classes'])
    model.train()
    with torch.no_grad(), cls_logits(model) as logits:
        data = model.data_preprocessor(data, False)
        model.mask_head(model.extract_feat(data['inputs']))
    thr = task['score_thr']
    biases = {str(t): bias_for(logits, t, thr) for t in task['targets']}
    counts = {t: count_candidates(logits, b, thr) for t, b in biases.items()}
    return dict(biases=biases, expected_counts=counts)


def _measure(task: dict) -> dict:
    """One (case, implementation) measurement."""
    import torch
    device, mode = task['device'], task['mode']
    model = _build(task['impl'], task['cfg'], task['weights'])
    _set_cls_bias(model, task['bias'])
    model.to(device)
    data = make_data(task['size'], task['seed'], task['num_gts'],
                     task['num_classes'])
    thr = task['score_thr']
    result = dict(bias=task['bias'])
    peak = PeakMemory(device)
    state = {}
    if mode == 'predict':
        model.eval()

        def call(i):
            batch = copy.deepcopy(data)
            state.pop('out', None)
            with torch.no_grad(), cls_logits(model) as logits:
                state['out'] = model.test_step(batch)
            if 'candidates' not in result:
                result['candidates'] = count_candidates(logits, thr=thr)

        times = _timed_calls(call, task, peak, result)
        result.update(
            _save_predictions(task['pred_path'],
                              state['out'][0].pred_instances))
    elif mode == 'train':
        from mmengine.optim import OptimWrapper
        model.train()
        optim = OptimWrapper(
            torch.optim.SGD(
                model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4))

        def call(i):
            batch = copy.deepcopy(data)
            log_vars = model.train_step(batch, optim)
            if i == 0:  # before any update: comparable between the two
                result['losses'] = {
                    k: float(v)
                    for k, v in log_vars.items() if k.startswith('loss')
                }

        times = _timed_calls(call, task, peak, result)
    else:  # postproc: the same head outputs every time
        model.eval()
        with torch.no_grad(), cls_logits(model) as logits:
            t0 = time.perf_counter()
            batch = model.data_preprocessor(copy.deepcopy(data), False)
            outs = model.mask_head(model.extract_feat(batch['inputs']))
            bench.synchronize(device)
            result['forward_time'] = time.perf_counter() - t0
        result['candidates'] = count_candidates(logits, thr=thr)
        metas = [s.metainfo for s in batch['data_samples']]

        def call(i):
            state.pop('results', None)  # free the previous output first
            with torch.no_grad():
                # fresh lists: mmdet's SOLOv2 replaces the category
                # scores in the list it is given by permuted ones
                state['results'] = model.mask_head.predict_by_feat(
                    *[list(o) if isinstance(o, list) else o for o in outs],
                    batch_img_metas=metas,
                    rescale=True)

        times = _timed_calls(call, task, peak, result)
        result.update(
            _save_predictions(task['pred_path'], state['results'][0]))
    result['vm_peak'] = _vm_peak() if not device.startswith('cuda') \
        else None
    result['times'] = times
    result['time'] = statistics.median(times) if times else float('nan')
    result['exact_peak'] = peak.exact
    return result


def _is_oom(exc: BaseException) -> bool:
    text = f'{type(exc).__name__}: {exc}'.lower()
    return isinstance(exc, MemoryError) or any(
        s in text for s in ("can't allocate memory", 'out of memory',
                            'cannot allocate memory', 'std::bad_alloc'))


def worker_main(task: dict, result_path: str) -> None:
    """Entry point of a measurement process: run ``task``, write JSON."""
    try:
        if task['mem_cap'] and not task['device'].startswith('cuda'):
            import resource
            cap = int(task['mem_cap'])
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        _set_threads(task['threads'])
        fn = _prepare if task['mode'] == 'prepare' else _measure
        result = dict(ok=True, **fn(task))
    except BaseException as exc:  # report every failure to the parent
        result = dict(
            ok=False,
            oom=_is_oom(exc),
            error=f'{type(exc).__name__}: {exc}'[:500],
            traceback=traceback.format_exc()[-3000:])
    with open(result_path, 'w') as f:
        json.dump(result, f)


# ---------------------------------------------------------------------------
# parent side
class Runner:
    """Runs tasks in fresh processes, one at a time, with a time limit."""

    def __init__(self, start_method: str, timeout: float, logger):
        import multiprocessing as mp
        self.ctx = mp.get_context(start_method)
        if start_method == 'forkserver':
            self.ctx.set_forkserver_preload(
                ['__main__', 'torch', 'mmdet.models', 'mmsolo.models'])
        self.timeout = timeout
        self.logger = logger

    def run(self, task: dict, result_path: str) -> dict:
        proc = self.ctx.Process(
            target=worker_main, args=(task, result_path), daemon=True)
        start = time.perf_counter()
        proc.start()
        proc.join(self.timeout)
        if proc.is_alive():
            proc.kill()
            proc.join()
            result = dict(ok=False, oom=False, error='timeout')
        elif osp.exists(result_path):
            with open(result_path) as f:
                result = json.load(f)
        else:
            # killed before it could write: SIGKILL by the OOM killer, or
            # a hard crash (SIGSEGV/SIGABRT) after a failed allocation
            result = dict(
                ok=False,
                oom=proc.exitcode in (-9, -6),
                error=f'process died (exit code {proc.exitcode})')
        result['wall'] = time.perf_counter() - start
        return result


def parse_targets(values: List[str]) -> list:
    out = []
    for v in values:
        out.append('all' if v == 'all' else int(v))
    return out


def select_cases(patterns: Optional[List[str]]) -> List[str]:
    if not patterns:
        return list(CASES)
    chosen = []
    for case in CASES:
        for pat in patterns:
            if fnmatch.fnmatch(case, pat) or case.startswith(pat + '-'):
                chosen.append(case)
                break
    unknown = [
        p for p in patterns if not any(
            fnmatch.fnmatch(c, p) or c.startswith(p + '-') for c in CASES)
    ]
    if unknown:
        raise SystemExit(f'unknown cases {unknown}; choose from {CASES} '
                         '(or predict/train/postproc, or shell patterns)')
    return chosen


def load_predictions(path: str) -> dict:
    data = np.load(path)
    shape = tuple(data['shape'])
    n = shape[0]
    masks = np.unpackbits(
        data['masks'], axis=1, count=int(np.prod(
            shape[1:]))).reshape(shape).astype(bool) if n else np.zeros(
                shape, bool)
    return dict(labels=data['labels'], scores=data['scores'], masks=masks)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def compare_predictions(ours: dict,
                        ref: dict,
                        score_tol: float = 1e-4,
                        iou_thr: float = 0.99) -> Tuple[bool, str]:
    """Same instances? Same count and labels, scores within ``score_tol``,
    mask IoU >= ``iou_thr``.

    Instances are compared in output order; where near-equal scores make
    the order differ, each instance is matched to an unmatched one of the
    same label and score (within ``score_tol``) with the best mask IoU.
    """
    n, m = len(ours['labels']), len(ref['labels'])
    if n != m:
        return False, f'{n} vs {m} instances'
    if n == 0:
        return True, '0 instances'
    max_ds = float(np.abs(ours['scores'] - ref['scores']).max())
    if np.array_equal(ours['labels'], ref['labels']) and max_ds <= score_tol:
        ious = [_iou(a, b) for a, b in zip(ours['masks'], ref['masks'])]
        if min(ious) >= iou_thr:
            return True, (f'{n} instances, max score diff {max_ds:.1e}, '
                          f'min IoU {min(ious):.4f}')
    free = set(range(m))
    worst_iou, worst_ds = 1.0, 0.0
    for i in range(n):
        cands = [
            j for j in free if ref['labels'][j] == ours['labels'][i]
            and abs(ref['scores'][j] - ours['scores'][i]) <= score_tol
        ]
        if not cands:
            return False, f'instance {i} (label {ours["labels"][i]}, ' \
                f'score {ours["scores"][i]:.5f}) has no match'
        ious = [_iou(ours['masks'][i], ref['masks'][j]) for j in cands]
        best = int(np.argmax(ious))
        j = cands[best]
        free.remove(j)
        worst_iou = min(worst_iou, ious[best])
        worst_ds = max(worst_ds, abs(ref['scores'][j] - ours['scores'][i]))
    ok = worst_iou >= iou_thr
    return ok, (f'{n} instances (matched), max score diff {worst_ds:.1e}, '
                f'min IoU {worst_iou:.4f}')


def compare_losses(ours: dict,
                   ref: dict,
                   rtol: float = 1e-4,
                   atol: float = 1e-6) -> Tuple[bool, str]:
    if set(ours) != set(ref):
        return False, f'loss keys {sorted(ours)} vs {sorted(ref)}'
    bad = [
        k for k in ours
        if not math.isclose(ours[k], ref[k], rel_tol=rtol, abs_tol=atol)
    ]
    if bad:
        return False, 'differ: ' + ', '.join(bad)
    return True, f'all within rtol {rtol:g}'


# ---------------------------------------------------------------------------
# reporting
def _ms(seconds: Optional[float]) -> str:
    return '—' if seconds is None else f'{1e3 * seconds:.1f}'


def _mb(num_bytes: Optional[float]) -> str:
    return '—' if num_bytes is None else f'{num_bytes / 2**20:.0f}'


def _ratio(a: Optional[float], b: Optional[float], floor: float = 0.) -> str:
    if a is None or b is None or b <= floor:
        return '—'
    return f'{a / b:.2f}'


def _get(res: dict, key: str):
    return res.get(key) if res.get('ok') else None


def _status(res: dict, cap_gb: float) -> str:
    if res.get('ok'):
        return ''
    if res.get('oom'):
        return f'failed (>{cap_gb:g} GB cap)' if cap_gb else 'failed (OOM)'
    return f'failed ({res.get("error", "?")[:60]})'


def _time_cell(res: dict, cap_gb: float) -> str:
    return _status(res, cap_gb) or _ms(res['time'])


def build_tables(rows: Dict[str, dict], args) -> str:
    """Markdown tables of all measured cases."""
    cap = args.mem_cap_gb
    mem_name = 'GPU max allocated' if args.device.startswith('cuda') \
        else 'peak RSS'
    parts = []
    pred = [r for r in rows.values() if r['mode'] == 'predict']
    if pred:
        lines = [
            '### Inference: `model.test_step`, batch 1',
            '',
            'Pre-processing + forward + post-processing + mask pasting; '
            f'median of {args.repeats} runs after {args.warmup} warm-up. '
            f'Memory: {mem_name} during the first run (MB).',
            '',
            '| model | input | candidates | mmsolo ms | mmdet ms | '
            'mmsolo/mmdet | mmsolo MB | mmdet MB | mmsolo/mmdet | '
            'same predictions |',
            '|---|---|---|---|---|---|---|---|---|---|',
        ]
        for r in pred:
            a, b = r['mmsolo'], r['mmdet']
            lines.append(f'| {r["model"]} | {r["size"][0]}x{r["size"][1]} | '
                         f'{_get(a, "candidates")} | {_time_cell(a, cap)} | '
                         f'{_time_cell(b, cap)} | '
                         f'{_ratio(_get(a, "time"), _get(b, "time"))} | '
                         f'{_mb(_get(a, "peak"))} | {_mb(_get(b, "peak"))} | '
                         f'{_ratio(_get(a, "peak"), _get(b, "peak"))} | '
                         f'{r["check"]} |')
        parts.append('\n'.join(lines))
    train = [r for r in rows.values() if r['mode'] == 'train']
    if train:
        lines = [
            '### Training: `model.train_step` (SGD), batch 1',
            '',
            f'{args.num_gts} random instances; median of '
            f'{args.train_repeats} steps after {args.warmup} warm-up; '
            'losses and memory of the first step (before any update; '
            f'{mem_name}, MB).',
            '',
            '| model | input | mmsolo ms | mmdet ms | mmsolo/mmdet | '
            'mmsolo MB | mmdet MB | mmsolo/mmdet | mmsolo losses | '
            'mmdet losses | same losses |',
            '|---|---|---|---|---|---|---|---|---|---|---|',
        ]

        def fmt(res):
            losses = _get(res, 'losses')
            if not losses:
                return '—'
            return ', '.join(f'{k}={v:.6g}' for k, v in losses.items())

        for r in train:
            a, b = r['mmsolo'], r['mmdet']
            lines.append(
                f'| {r["model"]} | {r["size"][0]}x{r["size"][1]} | '
                f'{_time_cell(a, cap)} | {_time_cell(b, cap)} | '
                f'{_ratio(_get(a, "time"), _get(b, "time"))} | '
                f'{_mb(_get(a, "peak"))} | {_mb(_get(b, "peak"))} | '
                f'{_ratio(_get(a, "peak"), _get(b, "peak"))} | {fmt(a)} | '
                f'{fmt(b)} | {r["check"]} |')
        parts.append('\n'.join(lines))
    post = [r for r in rows.values() if r['mode'] == 'postproc']
    if post:
        lines = [
            '### Post-processing: `mask_head.predict_by_feat` vs. number '
            'of candidates',
            '',
            'Candidates: (cell, class) pairs above `score_thr` after point '
            'NMS, set through the constant category bias. Time: median of '
            f'{args.postproc_repeats} runs after {args.warmup} warm-up. '
            '"extra MB": memory the first run adds on top of the head '
            f'outputs ({mem_name} minus the level at its start); '
            '"peak MB": the whole process during that run.',
            '',
            '| model | target | bias | candidates | mmsolo ms | mmdet ms | '
            'mmsolo/mmdet | mmsolo extra MB | mmdet extra MB | '
            'mmsolo/mmdet | mmsolo peak MB | mmdet peak MB | '
            'same predictions |',
            '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
        ]
        for r in post:
            a, b = r['mmsolo'], r['mmdet']

            def extra(res):
                if not res.get('ok'):
                    return None
                return max(0, res['peak'] - res['base'])

            cands = _get(a, 'candidates')
            if _get(b, 'candidates') not in (None, cands):
                cands = f'{cands} / {_get(b, "candidates")}'
            lines.append(
                f'| {r["model"]} | {r["target"]} | {r["bias"]:.3f} | '
                f'{cands} | {_time_cell(a, cap)} | {_time_cell(b, cap)} | '
                f'{_ratio(_get(a, "time"), _get(b, "time"))} | '
                f'{_mb(extra(a))} | {_mb(extra(b))} | '
                f'{_ratio(extra(a), extra(b), floor=2**20)} | '
                f'{_mb(_get(a, "peak"))} | {_mb(_get(b, "peak"))} | '
                f'{r["check"]} |')
        parts.append('\n'.join(lines))
    return '\n\n'.join(parts)


RESULTS_START = '<!-- benchmark-results:start -->'
RESULTS_END = '<!-- benchmark-results:end -->'


def write_markdown(path: str, body: str) -> None:
    """Write ``body`` between the result markers of ``path`` (a document
    such as docs/benchmark.md), or as a new file if it has none."""
    block = f'{RESULTS_START}\n{body}\n{RESULTS_END}'
    text = None
    if osp.exists(path):
        with open(path) as f:
            text = f.read()
    if text and RESULTS_START in text and RESULTS_END in text:
        head = text[:text.index(RESULTS_START)]
        tail = text[text.index(RESULTS_END) + len(RESULTS_END):]
        text = head + block + tail
    else:
        text = '# mmsolo vs. mmdet SOLO benchmark\n\n' + block + '\n'
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)


# ---------------------------------------------------------------------------
def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='mmsolo vs. mmdet SOLO: speed, memory, agreement')
    parser.add_argument(
        '--cases',
        nargs='+',
        help=f'cases to run (default: all): {" ".join(CASES)}; also the '
        'groups predict/train/postproc or shell patterns')
    parser.add_argument('--device', default='cpu', help='cpu or cuda')
    parser.add_argument(
        '--threads', type=int, default=2, help='torch.set_num_threads')
    parser.add_argument(
        '--repeats', type=int, default=5, help='timed predict runs')
    parser.add_argument(
        '--train-repeats', type=int, default=3, help='timed train steps')
    parser.add_argument(
        '--postproc-repeats',
        type=int,
        default=3,
        help='timed post-processing runs')
    parser.add_argument(
        '--warmup', type=int, default=1, help='untimed runs first')
    parser.add_argument(
        '--candidates',
        nargs='+',
        default=['0', '100', '1000', '10000', 'all'],
        help='candidate counts of the postproc cases ("all": every pair)')
    parser.add_argument(
        '--predict-candidates',
        type=int,
        default=200,
        help='about this many candidates in the predict cases')
    parser.add_argument(
        '--num-gts', type=int, default=8, help='GT instances for training')
    parser.add_argument(
        '--mem-cap-gb',
        type=float,
        default=12,
        help='address-space cap of each CPU measurement process, GB (0: '
        'none); a process that needs more is reported as failed')
    parser.add_argument(
        '--timeout',
        type=float,
        default=3600,
        help='seconds before a measurement process is killed')
    parser.add_argument(
        '--channels-last',
        action=argparse.BooleanOptionalAction,
        default=None,
        help='run mmsolo with model.channels_last=True / False (default: '
        "as the config says); mmdet's model always runs NCHW")
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--quick',
        action='store_true',
        help='smoke test: tiny ResNet-18 model, ~128x224 inputs, 1 run')
    parser.add_argument(
        '--start-method',
        default='forkserver',
        choices=['forkserver', 'spawn'],
        help='how measurement processes start (spawn: a new interpreter '
        'each, slower)')
    parser.add_argument(
        '--out',
        help='markdown file to write the results '
        'to (between the result markers if it has them)')
    parser.add_argument(
        '--work-dir',
        help='keep weights and predictions here (default: a '
        'temporary folder, removed at the end)')
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats = args.train_repeats = args.postproc_repeats = 1
    return args


def main(argv=None):
    args = parse_args(argv)
    from mmengine.logging import MMLogger, print_log
    logger = MMLogger.get_instance(
        'benchmark_vs_mmdet', logger_name='benchmark_vs_mmdet')

    def log(msg):
        print_log(msg, logger=logger)

    cases = select_cases(args.cases)
    targets = parse_targets(args.candidates)
    work_dir = args.work_dir or tempfile.mkdtemp(prefix='solo_bench_')
    os.makedirs(work_dir, exist_ok=True)
    runner = Runner(args.start_method, args.timeout, logger)
    mem_cap = int(args.mem_cap_gb * 2**30)
    info = bench.machine_info(args.device, args.threads)
    log('machine: ' + ', '.join(f'{k}={v}' for k, v in info.items()))
    log(f'cases: {", ".join(cases)}; work dir {work_dir}')

    models = sorted({c.split('-', 1)[1]
                     for c in cases},
                    key=list(MODELS).index)
    common = dict(
        seed=args.seed,
        threads=args.threads,
        device=args.device,
        mem_cap=mem_cap,
        num_gts=args.num_gts)
    todo = len(models) + 2 * len(cases) + 2 * (len(targets) - 1) * sum(
        c.startswith('postproc') for c in cases)
    done, t_start = 0, time.perf_counter()

    def progress(what: str, res: dict) -> None:
        nonlocal done
        done += 1
        elapsed = time.perf_counter() - t_start
        eta = elapsed / done * (todo - done)
        status = 'ok' if res.get('ok') else f'FAILED: {res.get("error")}'
        extra = ''
        if res.get('ok') and 'time' in res:
            extra = (f', median {_ms(res["time"])} ms, peak '
                     f'{_mb(res["peak"])} MB')
            if res.get('vm_peak'):
                extra += f', peak virtual {_mb(res["vm_peak"])} MB'
        log(f'[{done}/{todo}] {what}: {status} ({res["wall"]:.0f} s{extra})'
            f'; elapsed {elapsed / 60:.1f} min, ETA {eta / 60:.1f} min')
        if not res.get('ok') and not res.get('oom') and res.get('traceback'):
            log(res['traceback'])

    prepared = {}
    for name in models:
        ours_cfg, ref_cfg = model_cfgs(name, args.quick, args.channels_last)
        task = dict(
            common,
            mode='prepare',
            mmdet_cfg=ref_cfg,
            size=input_size(name, args.quick),
            num_classes=ours_cfg['mask_head']['num_classes'],
            score_thr=ours_cfg['test_cfg']['score_thr'],
            weights=osp.join(work_dir, f'{name}.pth'),
            targets=[args.predict_candidates] + targets)
        log(f'preparing {name}: shared weights and category biases')
        res = runner.run(task, osp.join(work_dir, f'prepare-{name}.json'))
        progress(f'prepare {name}', res)
        if not res.get('ok'):
            raise SystemExit(f'preparing {name} failed: {res.get("error")}')
        prepared[name] = dict(
            res, ours=ours_cfg, ref=ref_cfg, weights=task['weights'])

    rows, failed = {}, False
    for case in cases:
        mode, name = case.split('-', 1)
        prep = prepared[name]
        variants = [(None, args.predict_candidates)] if mode != 'postproc' \
            else [(t, t) for t in targets]
        for target, bias_key in variants:
            key = case if target is None else f'{case}@{target}'
            bias = prep['biases'][str(bias_key)]
            row = dict(
                mode=mode,
                model=name,
                size=input_size(name, args.quick),
                target=target,
                bias=bias)
            for impl in IMPLS:
                repeats = dict(
                    predict=args.repeats,
                    train=args.train_repeats,
                    postproc=args.postproc_repeats)[mode]
                task = dict(
                    common,
                    mode=mode,
                    impl=impl,
                    cfg=prep['ours'] if impl == 'mmsolo' else prep['ref'],
                    weights=prep['weights'],
                    bias=bias,
                    size=row['size'],
                    num_classes=prep['ours']['mask_head']['num_classes'],
                    score_thr=prep['ours']['test_cfg']['score_thr'],
                    warmup=args.warmup,
                    repeats=repeats,
                    pred_path=osp.join(work_dir, f'{key}-{impl}.npz'))
                log(f'{key} / {impl}: started')
                res = runner.run(task, osp.join(work_dir,
                                                f'{key}-{impl}.json'))
                progress(f'{key} / {impl}', res)
                row[impl] = res
                row[impl + '_pred'] = task['pred_path']
            a, b = row['mmsolo'], row['mmdet']
            if not a.get('ok'):
                row['check'], failed = 'n/a (mmsolo failed)', True
            elif not b.get('ok'):
                row['check'] = 'n/a (mmdet failed)'
            elif mode == 'train':
                ok, detail = compare_losses(a['losses'], b['losses'])
                row['check'] = ('pass' if ok else 'FAIL') + f' ({detail})'
                failed |= not ok
            else:
                ok, detail = compare_predictions(
                    load_predictions(row['mmsolo_pred']),
                    load_predictions(row['mmdet_pred']))
                row['check'] = ('pass' if ok else 'FAIL') + f' ({detail})'
                failed |= not ok
            log(f'{key}: check {row["check"]}')
            rows[key] = row

    tables = build_tables(rows, args)
    cap_note = (f'CPU measurement processes run under a {args.mem_cap_gb:g} '
                'GB address-space cap (RLIMIT_AS).'
                if mem_cap and not args.device.startswith('cuda') else '')
    body = '\n\n'.join(
        filter(None, [
            '## Results' + (' (quick smoke-test mode: tiny model, NOT '
                            'representative)' if args.quick else ''),
            bench.info_markdown(info),
            'Command: `python tools/analysis_tools/benchmark_vs_mmdet.py ' +
            ' '.join(argv if argv is not None else sys.argv[1:]) + '`',
            cap_note, tables
        ]))
    print(body)
    if args.out:
        write_markdown(args.out, body)
        log(f'results written to {args.out}')
    if not args.work_dir:
        shutil.rmtree(work_dir, ignore_errors=True)
    log(f'total time {(time.perf_counter() - t_start) / 60:.1f} min')
    if failed:
        log('some checks FAILED (or mmsolo failed)')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())

# Copyright (c) mmsolo contributors. All rights reserved.
"""Inference speed (FPS) of an mmsolo config on generated images.

What is timed, per image (batch 1), each stage separately:

- ``pipeline``: the config's test pipeline (resize, pack) on an image that
  is already in memory: ``LoadImageFromFile`` is replaced by
  ``LoadImageFromNDArray`` and ``LoadAnnotations`` is dropped. Reported,
  but not part of the model's FPS (a data loader overlaps it with the
  model).
- ``preprocess``: ``model.data_preprocessor`` (move to the device,
  BGR->RGB, normalise, pad to the configured size divisor).
- ``forward``: backbone + neck + head forward (``extract_feat`` and
  ``mask_head(feats)``).
- ``postprocess``: ``mask_head.predict_by_feat(..., rescale=True)``:
  candidate selection, masks of the candidates, maskness, NMS, upsampling
  and pasting of the kept masks at the original image size, boxes.

``forward`` + ``postprocess`` is exactly ``model.predict(..., rescale=True)``
of a single-stage instance segmentor. ``total`` = preprocess + forward +
postprocess and FPS = 1 / mean(total). On CUDA every stage ends with
``torch.cuda.synchronize()``.

Without ``--checkpoint`` the weights are random (no pretrained download)
and the head's output convs are re-drawn (``spread_output_convs``) so that
masks are not empty; the category prior still leaves almost no candidate
above ``score_thr``, so post-processing is nearly free. Use ``--cls-bias``
(e.g. ``-2.0``) to make the head produce candidates, or give a trained
checkpoint. The number of detections per image is reported so the reader
can tell.

Examples::

    # a config's own test pipeline on generated 480x640 "photos"
    python tools/analysis_tools/benchmark.py \
        configs/solo/solo_r50_fpn_1x_coco.py --num-images 20
    # a fixed network input size (the pipeline's resize is skipped)
    python tools/analysis_tools/benchmark.py \
        configs/solo/decoupled-solo-light_r50_fpn_3x_coco.py \
        --img-size 512 852 --checkpoint work_dirs/light/epoch_36.pth
"""
import argparse
import copy
import datetime
import os
import platform
import statistics
import time
from typing import Dict, List, Optional

import numpy as np
import torch

#: Seconds per stage are kept in this order.
STAGES = ('pipeline', 'preprocess', 'forward', 'postprocess')


# ---------------------------------------------------------------------------
# helpers shared with benchmark_vs_mmdet.py
def cpu_model() -> str:
    """The CPU model name from ``/proc/cpuinfo`` (or ``platform``)."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info(device: str, threads: int) -> Dict[str, str]:
    """Facts about the machine and software that timings depend on.

    Args:
        device (str): ``'cpu'`` or ``'cuda'``.
        threads (int): Intra-op threads given to torch.

    Returns:
        dict[str, str]: Ordered name -> value.
    """
    import mmcv
    import mmdet
    import mmengine

    import mmsolo
    info = {
        'date': datetime.datetime.now().strftime('%Y-%m-%d %H:%M'),
        'CPU': cpu_model(),
        'CPU cores (os.cpu_count)': str(os.cpu_count()),
        'torch threads': str(threads),
        'device': device,
    }
    if device.startswith('cuda') and torch.cuda.is_available():
        info['GPU'] = torch.cuda.get_device_name(0)
        info['CUDA'] = str(torch.version.cuda)
    info.update({
        'python': platform.python_version(),
        'torch': torch.__version__,
        'mmcv': mmcv.__version__,
        'mmengine': mmengine.__version__,
        'mmdet': mmdet.__version__,
        'mmsolo': mmsolo.__version__,
    })
    return info


def print_and_save(text: str, out_file: Optional[str] = None) -> None:
    """Print a report and, with ``out_file``, write it there too."""
    print(text)
    if out_file:
        os.makedirs(os.path.dirname(os.path.abspath(out_file)), exist_ok=True)
        with open(out_file, 'w') as f:
            f.write(text + '\n')


def info_markdown(info: Dict[str, str]) -> str:
    """``info`` as a two-column markdown table."""
    lines = ['| | |', '|---|---|']
    lines += [f'| {k} | {v} |' for k, v in info.items()]
    return '\n'.join(lines)


def shrink_model_cfg(model_cfg: dict,
                     channels: int = 32,
                     num_classes: int = 8) -> dict:
    """A tiny version of a SOLO model config for smoke tests.

    ResNet-18 with 16 base channels, ``channels``-wide FPN and head with two
    tower convs, ``num_classes`` classes; everything else (grids, strides,
    scale ranges, losses, test_cfg) is kept.

    Args:
        model_cfg (dict): A SOLO model config (mmsolo or mmdet flavour).
        channels (int): FPN and head width.
        num_classes (int): Number of classes.

    Returns:
        dict: The shrunk copy.
    """
    cfg = copy.deepcopy(model_cfg)
    backbone = cfg['backbone']
    backbone.update(depth=18, base_channels=16, init_cfg=None)
    for key in ('dcn', 'stage_with_dcn'):
        backbone.pop(key, None)
    cfg['neck'].update(in_channels=[16, 32, 64, 128], out_channels=channels)
    head = cfg['mask_head']
    head.update(
        num_classes=num_classes,
        in_channels=channels,
        feat_channels=channels,
        stacked_convs=2,
        norm_cfg=dict(type='GN', num_groups=8, requires_grad=True))
    head.pop('dcn_cfg', None)
    return cfg


def synthetic_image(rng: np.random.Generator,
                    height: int,
                    width: int,
                    num_objects: int = 0):
    """A smooth random "photo" with elliptic objects painted on it.

    Args:
        rng (np.random.Generator): Random source.
        height (int): Image height.
        width (int): Image width.
        num_objects (int): Number of painted objects.

    Returns:
        tuple: ``(img, masks)``: ``img`` (H, W, 3) uint8 (BGR, as
        ``LoadImageFromFile`` gives), ``masks`` (num_objects, H, W) uint8.
    """
    import cv2
    low = rng.uniform(0, 255, (max(2, height // 32), max(2, width // 32), 3))
    img = cv2.resize(
        low.astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    img += rng.normal(0, 8, img.shape)
    masks = np.zeros((num_objects, height, width), dtype=np.uint8)
    yy, xx = np.mgrid[:height, :width]
    short = min(height, width)
    for i in range(num_objects):
        # sqrt(area) spans the scale ranges of all FPN levels
        size = short * float(np.exp(rng.uniform(np.log(0.04), np.log(0.7))))
        ry = size * rng.uniform(0.35, 0.7)
        rx = size * size / 4 / ry
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        masks[i] = ((yy - cy)**2 / ry**2 + (xx - cx)**2 / rx**2) <= 1
        img[masks[i].astype(bool)] = rng.uniform(0, 255, 3)
    return np.clip(img, 0, 255).astype(np.uint8), masks


def spread_output_convs(model: torch.nn.Module,
                        mask_gain: float = 3.0,
                        seed: int = 0) -> None:
    """Give random weights to a SOLO head's output convs that vary.

    With the usual initialisation (std 0.01, prior bias) every mask is
    nearly empty and every score about 0.01, so post-processing has nothing
    to do. Here the final mask convs get ``N(0, mask_gain^2 / fan_in)``
    weights and zero bias (mask logits of std ~ ``mask_gain``), the category
    conv ``N(0, 1 / fan_in)`` weights (logits spread by ~1 around its bias;
    the bias is left alone). Parameter names are those of mmdet's and
    mmsolo's heads (``conv_mask_list*``, SOLOv2's ``conv_kernel``,
    ``conv_cls``).

    Args:
        model (nn.Module): A SOLO detector.
        mask_gain (float): Scale of the mask logits.
        seed (int): Random seed.
    """
    gen = torch.Generator().manual_seed(seed)
    head = model.mask_head
    with torch.no_grad():
        for name, module in sorted(head.named_modules()):
            if not isinstance(module, torch.nn.Conv2d):
                continue
            if name.startswith('conv_mask_list'):
                gain = mask_gain
            elif name == 'conv_kernel':
                # SOLOv2: a mask logit sums E kernel x feature products
                # (normalised features): E ** -0.5 keeps it ~ mask_gain
                mask_channels = module.out_channels / (
                    getattr(head, 'dynamic_conv_size', 1)**2)
                gain = mask_gain / mask_channels**0.5
            elif name == 'conv_cls':
                gain = 1.0
            else:
                continue
            fan_in = module.weight[0].numel()
            module.weight.copy_(
                torch.randn(module.weight.shape, generator=gen) * gain /
                fan_in**0.5)
            if name != 'conv_cls' and module.bias is not None:
                module.bias.zero_()


def quiet_init_weights(model: torch.nn.Module) -> None:
    """``model.init_weights()`` without mmengine's per-parameter log."""
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel('WARNING')
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)


def synchronize(device: str) -> None:
    """Wait for queued device work (no-op on CPU)."""
    if str(device).startswith('cuda'):
        torch.cuda.synchronize()


# ---------------------------------------------------------------------------
class DictActionLazy(argparse.Action):
    """mmengine's ``DictAction``, imported only when used."""

    def __call__(self, parser, namespace, values, option_string=None):
        from mmengine.config import DictAction
        DictAction(self.option_strings, self.dest)(parser, namespace, values,
                                                   option_string)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Inference FPS of an mmsolo config (batch 1)')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--checkpoint', help='checkpoint (default: random weights)')
    parser.add_argument(
        '--num-images', type=int, default=20, help='timed images')
    parser.add_argument(
        '--warmup', type=int, default=3, help='untimed images first')
    parser.add_argument(
        '--img-size',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        help='feed generated HxW images without the pipeline\'s resize '
        '(network input = original size = HxW)')
    parser.add_argument(
        '--ori-size',
        type=int,
        nargs=2,
        default=[480, 640],
        metavar=('H', 'W'),
        help='size of the generated images that go through the config\'s '
        'test pipeline (default: 480 640, a typical COCO image)')
    parser.add_argument(
        '--num-objects',
        type=int,
        default=5,
        help='objects painted on each generated image')
    parser.add_argument(
        '--cls-bias',
        type=float,
        help='set the category conv\'s bias to this constant (to get '
        'candidates from random weights)')
    parser.add_argument('--device', default='cpu', help='cpu or cuda')
    parser.add_argument(
        '--threads', type=int, default=2, help='torch.set_num_threads')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--quick',
        action='store_true',
        help='smoke test: tiny ResNet-18 model, 64x96 images resized to '
        'at most 160x96, 2 images after 1 warm-up')
    parser.add_argument('--out', help='also write the results as markdown')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictActionLazy,
        help='override settings of the config, xxx=yyy')
    return parser.parse_args(argv)


def _test_pipeline_cfg(cfg) -> List[dict]:
    """The config's test pipeline, fed from memory and without annotations.
    """
    if cfg.get('test_dataloader') is not None:
        pipeline = cfg.test_dataloader.dataset.pipeline
    else:
        pipeline = cfg.test_pipeline
    out = []
    for t in copy.deepcopy(pipeline):
        name = t['type'].split('.')[-1]
        if name == 'LoadAnnotations':
            continue
        if name == 'LoadImageFromFile':
            t = dict(type='mmdet.LoadImageFromNDArray')
        out.append(t)
    return out


def build_pipeline(cfg, skip_resize: bool, quick: bool):
    """Compose the test pipeline with mmsolo's transform registry."""
    from mmsolo.registry import TRANSFORMS
    transforms = []
    for t in _test_pipeline_cfg(cfg):
        if t['type'].split('.')[-1].endswith('Resize'):
            if skip_resize:
                continue
            if quick:
                t['scale'] = (160, 96)
        transforms.append(TRANSFORMS.build(t))

    def pipeline(results):
        for t in transforms:
            results = t(results)
        return results

    return pipeline


def build_model(cfg, args):
    """Build the detector with random or checkpoint weights, in eval mode.

    Random weights are drawn from ``args.seed``: the same seed gives the same
    model in every process.
    """
    from mmengine.runner import load_checkpoint

    from mmsolo.registry import MODELS
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.backbone.init_cfg = None  # never download pretrained weights
    if args.quick:
        model_cfg = shrink_model_cfg(model_cfg)
    torch.manual_seed(args.seed)
    model = MODELS.build(model_cfg)
    quiet_init_weights(model)
    if args.checkpoint:
        load_checkpoint(model, args.checkpoint, map_location='cpu')
    else:
        spread_output_convs(model, seed=args.seed)
    if args.cls_bias is not None:
        torch.nn.init.constant_(model.mask_head.conv_cls.bias, args.cls_bias)
    return model.to(args.device).eval()


def time_one(model, pipeline, img, device) -> tuple:
    """Run one image through every stage; seconds per stage + detections.
    """
    from mmengine.dataset import pseudo_collate
    split = hasattr(model,
                    'mask_head') and not getattr(model, 'with_bbox', False)
    times = {}
    t0 = time.perf_counter()
    packed = pipeline(dict(img=img, img_id=0))
    data = pseudo_collate([packed])
    times['pipeline'] = time.perf_counter() - t0
    with torch.no_grad():
        t0 = time.perf_counter()
        data = model.data_preprocessor(data, False)
        synchronize(device)
        t1 = time.perf_counter()
        inputs, samples = data['inputs'], data['data_samples']
        if split:
            outs = model.mask_head(model.extract_feat(inputs))
            synchronize(device)
            t2 = time.perf_counter()
            metas = [s.metainfo for s in samples]
            results = model.mask_head.predict_by_feat(
                *outs, batch_img_metas=metas, rescale=True)
            samples = model.add_pred_to_datasample(samples, results)
        else:
            samples = model.predict(inputs, samples, rescale=True)
            t2 = t1
        synchronize(device)
        t3 = time.perf_counter()
    times.update(preprocess=t1 - t0, forward=t2 - t1, postprocess=t3 - t2)
    shape = tuple(samples[0].metainfo['img_shape'][:2])
    return times, len(samples[0].pred_instances), split, shape


def summarise(per_image: List[Dict[str, float]]) -> Dict[str, dict]:
    """Mean and median milliseconds per stage and in total."""
    stats = {}
    for key in STAGES + ('total', ):
        if key == 'total':
            values = [
                t['preprocess'] + t['forward'] + t['postprocess']
                for t in per_image
            ]
        else:
            values = [t[key] for t in per_image]
        stats[key] = dict(
            mean=1e3 * statistics.mean(values),
            median=1e3 * statistics.median(values))
    return stats


def results_markdown(stats: Dict[str, dict], split: bool) -> str:
    """The per-stage timings as a markdown table."""
    lines = [
        '| stage | mean (ms) | median (ms) | in FPS |', '|---|---|---|---|'
    ]
    notes = {
        'pipeline': 'no',
        'preprocess': 'yes',
        'forward': 'yes',
        'postprocess': 'yes',
        'total': '= 1 / FPS'
    }
    for key in STAGES + ('total', ):
        if not split and key == 'postprocess':
            continue
        label = key if split or key != 'forward' else \
            'forward + postprocess'
        lines.append(f'| {label} | {stats[key]["mean"]:.1f} | '
                     f'{stats[key]["median"]:.1f} | {notes[key]} |')
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    from mmengine.config import Config
    from mmengine.logging import print_log
    from mmengine.registry import init_default_scope
    from mmengine.utils import ProgressBar

    import mmsolo  # noqa: F401  (version checks, registries)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmsolo'))
    if args.quick:
        args.num_images, args.warmup = 2, 1
        if args.img_size is None:
            args.ori_size = [64, 96]
        else:
            args.img_size = [64, 96]
    skip_resize = args.img_size is not None
    height, width = args.img_size if skip_resize else args.ori_size

    model = build_model(cfg, args)
    pipeline = build_pipeline(cfg, skip_resize, args.quick)
    rng = np.random.default_rng(args.seed)
    images = [
        synthetic_image(rng, height, width, args.num_objects)[0]
        for _ in range(args.warmup + args.num_images)
    ]
    print_log(
        f'{args.config}: {args.warmup} warm-up + {args.num_images} timed '
        f'images of {height}x{width} '
        f'({"no resize" if skip_resize else "config test pipeline"}), '
        f'device {args.device}, {args.threads} threads',
        logger='current')
    per_image, detections, input_shapes = [], [], set()
    progress = ProgressBar(len(images))
    for i, img in enumerate(images):
        times, num_dets, split, shape = time_one(model, pipeline, img,
                                                 args.device)
        input_shapes.add(shape)
        if i >= args.warmup:
            per_image.append(times)
            detections.append(num_dets)
        progress.update()
    print()
    stats = summarise(per_image)
    fps = 1e3 / stats['total']['mean']
    divisor = getattr(model.data_preprocessor, 'pad_size_divisor', 1)
    info = machine_info(args.device, args.threads)
    weights = f'checkpoint `{args.checkpoint}`' if args.checkpoint \
        else 'random weights'
    if args.cls_bias is not None:
        weights += f', category bias {args.cls_bias}'
    feeding = 'fed without resize' if skip_resize \
        else 'through the config test pipeline'
    shapes = ', '.join(f'{h}x{w}' for h, w in sorted(input_shapes))
    text = '\n\n'.join([
        f'Config: `{args.config}`, {weights}',
        f'Images: {args.num_images} generated {height}x{width} images '
        f'({feeding}), network input {shapes} (padded to a multiple of '
        f'{divisor}), batch 1, after {args.warmup} warm-up images; '
        f'{statistics.mean(detections):.1f} detections per image (masks '
        'pasted at the original size).',
        results_markdown(stats, split),
        f'**FPS: {fps:.2f}** (pre-processing + forward + post-processing '
        'incl. mask pasting at the original size; pipeline excluded)',
        info_markdown(info)
    ])
    print_and_save(text, args.out)
    return stats


if __name__ == '__main__':
    main()

# Copyright (c) mmsolo contributors. All rights reserved.
"""A synthetic COCO-format instance segmentation set of filled shapes.

The "shapes" set is mmsolo's demo and test data: it is small, it trains on a
CPU, and it exercises what matters for SOLO (several classes, objects of
every FPN scale range, touching and overlapping instances, occlusion, images
without objects, textured backgrounds).

Layout written by :func:`make_shapes_dataset`::

    out_dir/
        train/000000.jpg ...     val/000000.jpg ...
        train.json               val.json           (COCO instances format)
        shapes_meta.json         (arguments + stats; written last)

Annotations follow COCO: ``segmentation`` is a list of polygons (flat
``[x0, y0, x1, y1, ...]`` lists, in pixel-corner coordinates, so that
pycocotools rasterises them back to exactly the visible pixels), ``bbox`` is
``[x, y, w, h]`` of the visible pixels, ``area`` is the visible pixel count,
``iscrowd`` is 0 and category ids start at 1.

Occlusion: shapes are painted in z-order into a label map; an instance's
mask is what is left visible after the later shapes are painted over it.
Visible regions may be split into several pieces (several polygons) or have
holes (a hole is joined to the outer boundary by a zero-width bridge, which
even-odd rasterisation such as pycocotools' turns back into a hole).
Instances left with too few visible pixels are removed from the picture
altogether (not painted and not annotated).

Object sizes and SOLO's scale ranges: SOLO assigns an instance to FPN levels
by ``sqrt(w * h)`` of its box in the *network input*, with
``scale_ranges=((1, 96), (48, 192), (96, 384), (192, 768), (384, 2048))``
for inputs whose short side is about 800 pixels. By default the generator
scales these ranges by ``min(img_size) / 800`` (see
:func:`default_size_ranges`), so that a model whose input keeps the
generated resolution sees objects of every level once its ``scale_ranges``
are scaled by the same factor, and a model that resizes the images to a
short side of 800 sees them with the original ranges. Pass ``size_ranges``
to choose the ranges (in pixels of the generated images) yourself.
"""
import inspect
import json
import multiprocessing
import os
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

#: The default class names of the shapes set (category ids 1, 2, ...).
SHAPES_CLASSES = ('circle', 'square', 'triangle', 'star')

#: Every shape the generator can draw; ``classes`` may be any subset.
SUPPORTED_SHAPES = ('circle', 'square', 'triangle', 'star', 'hexagon',
                    'rectangle')

#: SOLO's FPN scale ranges (sqrt of box area) for a short side of 800.
SOLO_SCALE_RANGES = ((1, 96), (48, 192), (96, 384), (192, 768), (384, 2048))
#: The input short side that :data:`SOLO_SCALE_RANGES` refer to.
SOLO_REF_SHORT_SIDE = 800

#: Bumped whenever the generator's output for the same arguments changes.
GENERATOR_VERSION = 1
#: The stamp file written (last) into ``out_dir``.
META_FILE = 'shapes_meta.json'

SPLITS = ('train', 'val')
_IMG_NAME = re.compile(r'^\d{6}\.jpg$')
_BACKGROUNDS = ('gradient', 'stripes', 'smooth_noise', 'checker', 'plain')

Range = Tuple[float, float]  # (lo, hi) of sqrt(w * h) in pixels


def default_size_ranges(img_size: Tuple[int, int],
                        scale_ranges: Sequence[Range] = SOLO_SCALE_RANGES,
                        ref_short_side: int = SOLO_REF_SHORT_SIDE,
                        min_size: float = 8.,
                        max_fill: float = 0.9) -> List[Range]:
    """Scale SOLO's FPN scale ranges to the generated image size.

    Each range ``(lo, hi)`` becomes ``(lo, hi) * min(img_size) /
    ref_short_side``, clipped to ``[min_size, max_fill * min(img_size)]``
    (objects must fit in the image and stay recognisable).

    Args:
        img_size (tuple[int, int]): Image size ``(H, W)``.
        scale_ranges (Sequence[tuple]): Ranges of ``sqrt(w * h)`` for an
            input whose short side is ``ref_short_side``. Defaults to
            SOLO's ranges.
        ref_short_side (int): The short side the ranges refer to.
            Defaults to 800.
        min_size (float): Smallest object size in pixels. Defaults to 8.
        max_fill (float): Largest object size as a fraction of the short
            side. Defaults to 0.9.

    Returns:
        list[tuple[float, float]]: Size ranges in pixels of the generated
        images, rounded to 0.01.
    """
    short = float(min(img_size))
    factor = short / ref_short_side
    upper = max_fill * short
    ranges = []
    for lo, hi in scale_ranges:
        lo_s = min(max(lo * factor, min_size), upper)
        hi_s = max(min(hi * factor, upper), lo_s)
        ranges.append((round(lo_s, 2), round(hi_s, 2)))
    return ranges


def _unit_shape(name: str, rng: np.random.Generator) -> np.ndarray:
    """Vertices of a shape of about unit size, rotated at random."""
    angle = rng.uniform(0, 2 * np.pi)
    if name == 'circle':
        t = np.linspace(0, 2 * np.pi, 64, endpoint=False)
        pts = np.stack([np.cos(t), np.sin(t)], axis=1)
        return pts  # rotation does not change a circle
    if name == 'square':
        t = np.pi / 4 + np.arange(4) * np.pi / 2
        pts = np.stack([np.cos(t), np.sin(t)], axis=1)
    elif name == 'rectangle':
        aspect = rng.uniform(1.6, 2.5)
        pts = np.array(
            [[-aspect, -1], [aspect, -1], [aspect, 1], [-aspect, 1]],
            dtype=np.float64)
    elif name == 'triangle':
        t = np.pi / 2 + np.arange(3) * 2 * np.pi / 3
        pts = np.stack([np.cos(t), np.sin(t)], axis=1)
    elif name == 'hexagon':
        t = np.arange(6) * np.pi / 3
        pts = np.stack([np.cos(t), np.sin(t)], axis=1)
    elif name == 'star':
        t = np.pi / 2 + np.arange(10) * np.pi / 5
        radius = np.where(np.arange(10) % 2 == 0, 1.0, 0.45)
        pts = np.stack([radius * np.cos(t), radius * np.sin(t)], axis=1)
    else:
        raise ValueError(f'Unknown shape {name!r}; supported shapes are '
                         f'{SUPPORTED_SHAPES}.')
    rot = np.array([[np.cos(angle), -np.sin(angle)],
                    [np.sin(angle), np.cos(angle)]])
    return pts @ rot.T


def shape_polygon(name: str, size: float, rng: np.random.Generator,
                  max_wh: Tuple[float, float]) -> np.ndarray:
    """Vertices of a randomly rotated shape, centred on its box.

    Args:
        name (str): One of :data:`SUPPORTED_SHAPES`.
        size (float): Wanted ``sqrt(w * h)`` of the shape's box.
        rng (np.random.Generator): Random generator.
        max_wh (tuple[float, float]): Largest allowed box ``(w, h)``; the
            shape is shrunk to fit if needed.

    Returns:
        np.ndarray: ``(N, 2)`` float vertices ``(x, y)`` whose box is
        centred on the origin.
    """
    pts = _unit_shape(name, rng)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    pts = pts - (lo + hi) / 2
    w, h = hi - lo
    scale = size / np.sqrt(w * h)
    scale = min(scale, max_wh[0] / w, max_wh[1] / h)
    return pts * scale


def mask_to_polygons(mask: np.ndarray) -> List[List[float]]:
    """Convert a binary mask into COCO polygons that rasterise back to it.

    The mask is upsampled 2x so that every contour point of the upsampled
    mask lies on a known side of an original pixel; mapping it to that
    pixel's corner gives a polygon along the pixel boundaries, which
    pycocotools turns back into exactly the same pixels. Holes are joined
    to their outer contour by a zero-width bridge (even-odd filling turns
    it back into a hole).

    Args:
        mask (np.ndarray): ``(H, W)`` binary mask.

    Returns:
        list[list[float]]: One flat ``[x0, y0, x1, y1, ...]`` polygon per
        connected component (8-connectivity), in pixel-corner coordinates.
    """
    mask = np.ascontiguousarray(mask, dtype=np.uint8)
    if not mask.any():
        return []
    up = cv2.resize(
        mask, (mask.shape[1] * 2, mask.shape[0] * 2),
        interpolation=cv2.INTER_NEAREST)
    contours, hierarchy = cv2.findContours(up, cv2.RETR_CCOMP,
                                           cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return []
    hierarchy = hierarchy[0]
    contours = [(c.reshape(-1, 2) + 1) // 2 for c in contours]
    polygons = []
    for idx, (contour, link) in enumerate(zip(contours, hierarchy)):
        if link[3] >= 0:  # a hole; handled with its outer contour
            continue
        poly = contour
        child = link[2]
        while child >= 0:
            hole = contours[child]
            dist = ((poly[:, None, :] - hole[None, :, :])**2).sum(-1)
            i, j = np.unravel_index(np.argmin(dist), dist.shape)
            poly = np.concatenate(
                [poly[:i + 1], hole[j:], hole[:j + 1], poly[i:]])
            child = hierarchy[child][0]
        polygons.append(poly.astype(np.float64).ravel().tolist())
    return polygons


def _background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A textured float32 ``(h, w, 3)`` background in [0, 255]."""
    kind = _BACKGROUNDS[rng.integers(len(_BACKGROUNDS))]
    base = rng.uniform(30, 225, size=3)
    other = np.clip(base + rng.uniform(-60, 60, size=3), 0, 255)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    theta = rng.uniform(0, np.pi)
    proj = xs * np.cos(theta) + ys * np.sin(theta)
    if kind == 'gradient':
        t = (proj - proj.min()) / max(float(np.ptp(proj)), 1.)
    elif kind == 'stripes':
        period = rng.uniform(6, 40)
        t = 0.5 + 0.5 * np.sin(2 * np.pi * proj / period +
                               rng.uniform(0, 2 * np.pi))
    elif kind == 'checker':
        cell = int(rng.integers(6, 33))
        t = ((xs // cell + ys // cell) % 2).astype(np.float32)
    elif kind == 'smooth_noise':
        gh, gw = max(2, h // 16), max(2, w // 16)
        coarse = rng.random((gh, gw)).astype(np.float32)
        t = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    else:  # plain
        t = np.zeros((h, w), np.float32)
    t = t.astype(np.float32)[..., None]
    img = base.astype(np.float32) + t * (other - base).astype(np.float32)
    return img


def _pick_colour(rng: np.random.Generator, bg_mean: np.ndarray,
                 used: List[np.ndarray], min_contrast: float) -> np.ndarray:
    """A random colour far from the background and the other objects."""
    best, best_score = None, -1.
    for _ in range(50):
        colour = rng.uniform(0, 255, size=3)
        score = min([np.linalg.norm(colour - bg_mean)] +
                    [2. * np.linalg.norm(colour - c) for c in used])
        if score > best_score:
            best, best_score = colour, score
        if score >= min_contrast:
            break
    return best


def _place(rng: np.random.Generator, wh: np.ndarray, img_wh: np.ndarray,
           placed: list, overlap_prob: float) -> np.ndarray:
    """Choose a box centre keeping the box inside the image.

    ``placed`` holds ``(centre, radius)`` of the objects placed before.
    """
    half = wh / 2
    lo, hi = half, img_wh - half
    if placed and rng.random() < overlap_prob:
        # Next to (touching or overlapping) an object placed before.
        centre, radius = placed[rng.integers(len(placed))]
        dist = (radius + float(np.sqrt(wh[0] * wh[1])) / 2) * rng.uniform(
            0.45, 1.0)
        theta = rng.uniform(0, 2 * np.pi)
        c = centre + dist * np.array([np.cos(theta), np.sin(theta)])
    else:
        c = rng.uniform(0, 1, size=2) * (hi - lo) + lo
    return np.clip(c, lo, np.maximum(hi, lo))


def _render_image(rng: np.random.Generator, img_size: Tuple[int, int],
                  num_objects: int, range_offset: int, classes: Sequence[str],
                  size_ranges: Sequence[Range], overlap_prob: float,
                  min_visible_area: int, min_visible_ratio: float,
                  noise_std: Tuple[float, float],
                  min_contrast: float) -> Tuple[np.ndarray, List[dict]]:
    """Render one image and return it (BGR uint8) with its instances."""
    h, w = img_size
    img_wh = np.array([w, h], np.float64)
    img = _background(rng, h, w)
    bg_mean = img.reshape(-1, 3).mean(axis=0)

    # Sample the objects: class, size (log-uniform in its range), shape.
    objects = []
    for k in range(num_objects):
        lo, hi = size_ranges[(range_offset + k) % len(size_ranges)]
        size = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
        label = int(rng.integers(len(classes)))
        pts = shape_polygon(classes[label], size, rng, (w - 1., h - 1.))
        objects.append(dict(label=label, size=size, pts=pts))
    # z-order: mostly large objects at the back, with some shuffling.
    keys = [np.log(o['size']) + rng.normal(0, 0.4) for o in objects]
    objects = [objects[i] for i in np.argsort(keys, kind='stable')[::-1]]

    placed = []
    for obj in objects:
        pts = obj['pts']
        wh = pts.max(axis=0) - pts.min(axis=0)
        centre = _place(rng, wh, img_wh, placed, overlap_prob)
        obj['pts'] = pts + centre
        obj['fixed'] = np.round(obj['pts'] * 16).astype(np.int32)
        placed.append((centre, float(np.sqrt(wh[0] * wh[1])) / 2))

    # Amodal areas, then visible areas; drop the hardly visible instances
    # and paint again without them (removing an instance only uncovers the
    # others, so one pass suffices).
    scratch = np.zeros((h, w), np.uint8)
    for obj in objects:
        scratch[:] = 0
        cv2.fillPoly(scratch, [obj['fixed']], 1, cv2.LINE_8, 4)
        obj['amodal_area'] = int(np.count_nonzero(scratch))

    def paint(objs):
        label_map = np.zeros((h, w), np.uint8)
        for i, o in enumerate(objs):
            cv2.fillPoly(label_map, [o['fixed']], i + 1, cv2.LINE_8, 4)
        return label_map

    label_map = paint(objects)
    counts = np.bincount(label_map.ravel(), minlength=len(objects) + 1)
    keep = [
        o for i, o in enumerate(objects) if counts[i + 1] >= min_visible_area
        and counts[i + 1] >= min_visible_ratio * o['amodal_area']
    ]
    if len(keep) < len(objects):
        objects = keep
        label_map = paint(objects)

    # Paint the objects (flat colour with a mild shading).
    used = []
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    for i, obj in enumerate(objects):
        colour = _pick_colour(rng, bg_mean, used, min_contrast)
        used.append(colour)
        m = label_map == i + 1
        direction = rng.normal(size=2)
        direction /= max(np.linalg.norm(direction), 1e-6)
        cx, cy = obj['pts'].mean(axis=0)
        shade = ((xs[m] - cx) * direction[0] +
                 (ys[m] - cy) * direction[1]) / max(obj['size'], 1.)
        img[m] = colour[None, :] + 20. * shade[:, None]
        obj['colour'] = colour

    std = rng.uniform(*noise_std)
    if std > 0:
        img += rng.standard_normal(img.shape, dtype=np.float32) * std
    img = np.clip(img + 0.5, 0, 255).astype(np.uint8)

    instances = []
    for i, obj in enumerate(objects):
        m = label_map == i + 1
        ys_i, xs_i = np.nonzero(m)
        x0, y0, x1, y1 = xs_i.min(), ys_i.min(), xs_i.max() + 1, ys_i.max() + 1
        polygons = [(np.array(p).reshape(-1, 2) + [x0, y0]).ravel().tolist()
                    for p in mask_to_polygons(m[y0:y1, x0:x1])]
        instances.append(
            dict(
                label=obj['label'],
                bbox=[float(x0),
                      float(y0),
                      float(x1 - x0),
                      float(y1 - y0)],
                area=float(len(xs_i)),
                segmentation=polygons,
                amodal_area=obj['amodal_area'],
                index=i + 1))
    _neighbour_stats(instances, label_map)
    return img, instances


def _neighbour_stats(instances: List[dict], label_map: np.ndarray) -> None:
    """Record which instances touch (8-adjacent visible pixels)."""
    kernel = np.ones((3, 3), np.uint8)
    for inst in instances:
        m = (label_map == inst['index']).astype(np.uint8)
        ring = cv2.dilate(m, kernel).astype(bool) & ~m.astype(bool)
        around = np.unique(label_map[ring])
        inst['touches'] = [int(v) for v in around if v > 0]


def _boxes_overlap(a: Sequence[float], b: Sequence[float]) -> bool:
    """Whether two ``xywh`` boxes overlap with positive area."""
    return (min(a[0] + a[2], b[0] + b[2]) > max(a[0], b[0])
            and min(a[1] + a[3], b[1] + b[3]) > max(a[1], b[1]))


def _range_key(lo: float, hi: float) -> str:
    return f'{lo:g}-{hi:g}'


def _new_stats(classes: Sequence[str], size_ranges: Sequence[Range]) -> dict:
    return dict(
        num_images=0,
        num_empty_images=0,
        num_instances=0,
        per_class={c: 0
                   for c in classes},
        per_size_range={_range_key(*r): 0
                        for r in size_ranges},
        occluded_instances=0,
        multi_polygon_instances=0,
        bbox_overlap_pairs=0,
        touching_pairs=0)


def _clean_split_dir(img_dir: str) -> None:
    """Remove images a previous run of the generator left in ``img_dir``."""
    if not osp.isdir(img_dir):
        return
    for name in os.listdir(img_dir):
        if _IMG_NAME.match(name):
            os.remove(osp.join(img_dir, name))


def _normalise_args(**kwargs) -> dict:
    """JSON round-trip so that tuples and lists compare equal."""
    return json.loads(json.dumps(kwargs))


def _result(out_dir: str, meta: dict) -> dict:
    out_dir = osp.abspath(out_dir)
    args = meta['args']
    return dict(
        data_root=out_dir,
        ann_files={s: osp.join(out_dir, f'{s}.json')
                   for s in SPLITS},
        img_dirs={s: osp.join(out_dir, s)
                  for s in SPLITS},
        meta_file=osp.join(out_dir, META_FILE),
        classes=tuple(args['classes']),
        img_size=tuple(args['img_size']),
        size_ranges=[tuple(r) for r in args['size_ranges']],
        seed=args['seed'],
        stats=meta['stats'])


def make_shapes_dataset(out_dir: str,
                        num_train: int = 200,
                        num_val: int = 50,
                        seed: int = 0,
                        img_size: Tuple[int, int] = (256, 256),
                        classes: Sequence[str] = SHAPES_CLASSES,
                        min_objects: int = 1,
                        max_objects: int = 6,
                        empty_ratio: float = 0.1,
                        size_ranges: Optional[Sequence[Range]] = None,
                        overlap_prob: float = 0.5,
                        min_visible_area: int = 12,
                        min_visible_ratio: float = 0.15,
                        noise_std: Tuple[float, float] = (2., 10.),
                        min_contrast: float = 80.,
                        jpeg_quality: int = 95,
                        progress: Optional[bool] = None,
                        num_workers: Optional[int] = None) -> dict:
    """Generate the shapes set (deterministic for a seed).

    Each image is drawn with its own random generator seeded by ``(seed,
    split, index)``. Object ``k`` of image ``i`` takes its size from
    ``size_ranges[(i + k) % len(size_ranges)]``, so every range is used
    evenly; an image has ``min_objects`` to ``max_objects`` objects before
    the hardly visible ones are dropped. ``round(empty_ratio * n)`` images of
    a split (at least one when ``empty_ratio > 0`` and the split has 2 or
    more images) have no objects; they are listed in ``images`` with no
    annotations.

    Args:
        out_dir (str): Output folder (created if needed).
        num_train (int): Number of training images. Defaults to 200.
        num_val (int): Number of validation images. Defaults to 50.
        seed (int): Random seed. Defaults to 0.
        img_size (tuple[int, int]): Image size ``(H, W)``. Defaults to
            ``(256, 256)``.
        classes (Sequence[str]): Class names, a subset of
            :data:`SUPPORTED_SHAPES`; category ids follow this order
            starting at 1. Defaults to :data:`SHAPES_CLASSES`.
        min_objects (int): Fewest objects drawn in a non-empty image.
            Defaults to 1.
        max_objects (int): Most objects drawn in an image. Defaults to 6.
        empty_ratio (float): Fraction of images without objects. Defaults
            to 0.1.
        size_ranges (Sequence[tuple[float, float]], optional): Ranges of
            object size ``sqrt(w * h)`` in pixels. Defaults to
            :func:`default_size_ranges` of ``img_size`` (SOLO's ranges
            scaled by ``min(img_size) / 800``).
        overlap_prob (float): Probability that an object is placed next to
            (touching or overlapping) one placed before. Defaults to 0.5.
        min_visible_area (int): Instances with fewer visible pixels are
            removed. Defaults to 12.
        min_visible_ratio (float): Instances with a smaller visible
            fraction of their full area are removed. Defaults to 0.15.
        noise_std (tuple[float, float]): Range of the per-image standard
            deviation of the Gaussian pixel noise. Defaults to (2, 10).
        min_contrast (float): Wanted RGB distance between an object's
            colour and the mean background colour. Defaults to 80.
        jpeg_quality (int): JPEG quality. Defaults to 95.
        progress (bool, optional): Show a progress bar; by default only
            when generating 100 images or more.
        num_workers (int, optional): Processes that draw the images (the
            result is the same for any number). Defaults to the number of
            CPUs (at most 8); 0 or 1 draws them in this process.

    Returns:
        dict: ``data_root``, ``ann_files`` and ``img_dirs`` (per split),
        ``meta_file``, ``classes``, ``img_size``, ``size_ranges``, ``seed``
        and ``stats`` (per split: image, empty image and instance counts,
        instances per class and per size range, occluded instances,
        instances made of several polygons, pairs of instances whose boxes
        overlap and pairs whose visible masks touch).
    """
    classes = tuple(classes)
    for name in classes:
        if name not in SUPPORTED_SHAPES:
            raise ValueError(f'Unknown shape {name!r}; supported shapes are '
                             f'{SUPPORTED_SHAPES}.')
    if len(set(classes)) != len(classes) or not classes:
        raise ValueError(f'classes must be distinct and non-empty: {classes}')
    img_size = (int(img_size[0]), int(img_size[1]))
    if min(img_size) < 16:
        raise ValueError(f'img_size must be at least 16x16, got {img_size}')
    if not 0 <= min_objects <= max_objects <= 254:
        raise ValueError('Need 0 <= min_objects <= max_objects <= 254, got '
                         f'{min_objects} and {max_objects}.')
    if not 0 <= empty_ratio <= 1:
        raise ValueError(f'empty_ratio must be in [0, 1], got {empty_ratio}')
    if size_ranges is None:
        size_ranges = default_size_ranges(img_size)
    size_ranges = [(float(lo), float(hi)) for lo, hi in size_ranges]
    for lo, hi in size_ranges:
        if not 0 < lo <= hi:
            raise ValueError(f'Bad size range ({lo}, {hi}).')

    args = _normalise_args(
        generator_version=GENERATOR_VERSION,
        num_train=int(num_train),
        num_val=int(num_val),
        seed=int(seed),
        img_size=img_size,
        classes=classes,
        min_objects=int(min_objects),
        max_objects=int(max_objects),
        empty_ratio=float(empty_ratio),
        size_ranges=size_ranges,
        overlap_prob=float(overlap_prob),
        min_visible_area=int(min_visible_area),
        min_visible_ratio=float(min_visible_ratio),
        noise_std=[float(v) for v in noise_std],
        min_contrast=float(min_contrast),
        jpeg_quality=int(jpeg_quality))

    os.makedirs(out_dir, exist_ok=True)
    meta_file = osp.join(out_dir, META_FILE)
    if osp.exists(meta_file):
        os.remove(meta_file)  # the set is incomplete until written again

    total = num_train + num_val
    bar = None
    if progress or (progress is None and total >= 100):
        from mmengine.utils import ProgressBar
        bar = ProgressBar(total)

    render_args = dict(
        img_size=img_size,
        classes=classes,
        min_objects=int(min_objects),
        max_objects=int(max_objects),
        size_ranges=size_ranges,
        overlap_prob=overlap_prob,
        min_visible_area=min_visible_area,
        min_visible_ratio=min_visible_ratio,
        noise_std=tuple(noise_std),
        min_contrast=min_contrast,
        jpeg_quality=int(jpeg_quality))
    if num_workers is None:
        num_workers = min(os.cpu_count() or 1, 8)
    pool = None
    if num_workers > 1 and total > 16:
        methods = multiprocessing.get_all_start_methods()
        pool = multiprocessing.get_context(
            'fork' if 'fork' in methods else 'spawn').Pool(num_workers)
    try:
        all_stats = _write_splits(out_dir, int(seed), num_train, num_val,
                                  empty_ratio, render_args, pool, bar)
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    if bar is not None:
        bar.file.write('\n')

    meta = dict(args=args, stats=all_stats)
    tmp_file = meta_file + '.tmp'
    with open(tmp_file, 'w') as f:
        json.dump(meta, f, indent=2)
    os.replace(tmp_file, meta_file)
    return _result(out_dir, meta)


def _generate_image(job: tuple) -> Tuple[str, List[dict]]:
    """Render, encode and write one image; return its file name and objects.

    A module-level function so that a process pool can run it. The image is
    drawn with its own generator seeded by ``(seed, split, index)``, so the
    result does not depend on which process draws it.
    """
    seed, split_id, idx, is_empty, img_dir, a = job
    rng = np.random.default_rng([seed, split_id, idx])
    n_obj = 0 if is_empty else int(
        rng.integers(a['min_objects'], a['max_objects'] + 1))
    img, instances = _render_image(rng, a['img_size'], n_obj, idx,
                                   a['classes'], a['size_ranges'],
                                   a['overlap_prob'], a['min_visible_area'],
                                   a['min_visible_ratio'], a['noise_std'],
                                   a['min_contrast'])
    file_name = f'{idx:06d}.jpg'
    ok, buf = cv2.imencode('.jpg', img,
                           [cv2.IMWRITE_JPEG_QUALITY, a['jpeg_quality']])
    assert ok, 'JPEG encoding failed'
    with open(osp.join(img_dir, file_name), 'wb') as f:
        f.write(buf.tobytes())
    return file_name, instances


def _write_splits(out_dir: str, seed: int, num_train: int, num_val: int,
                  empty_ratio: float, render_args: dict, pool, bar) -> dict:
    """Write the images and the json file of each split; return the stats.

    ``render_args`` are what :func:`_generate_image` draws an image with;
    ``pool`` is a process pool or None (draw in this process).
    """
    classes = render_args['classes']
    size_ranges = render_args['size_ranges']
    categories = [
        dict(id=i + 1, name=name, supercategory='shape')
        for i, name in enumerate(classes)
    ]
    all_stats = {}
    for split_id, (split, num) in enumerate(
            zip(SPLITS, (int(num_train), int(num_val)))):
        img_dir = osp.join(out_dir, split)
        os.makedirs(img_dir, exist_ok=True)
        _clean_split_dir(img_dir)
        split_rng = np.random.default_rng([seed, split_id])
        num_empty = int(round(empty_ratio * num))
        if empty_ratio > 0 and num >= 2:
            num_empty = max(num_empty, 1)
        empty = set(split_rng.choice(num, num_empty, replace=False).tolist())

        stats = _new_stats(classes, size_ranges)
        images, annotations = [], []
        jobs = [(seed, split_id, idx, idx in empty, img_dir, render_args)
                for idx in range(num)]
        if pool is None:
            results = map(_generate_image, jobs)
        else:
            results = pool.imap(_generate_image, jobs, chunksize=8)
        for idx, (file_name, instances) in enumerate(results):
            image_id = idx + 1
            images.append(
                dict(
                    id=image_id,
                    file_name=file_name,
                    height=render_args['img_size'][0],
                    width=render_args['img_size'][1]))
            ann_ids = {}
            for inst in instances:
                ann_id = len(annotations) + 1
                ann_ids[inst['index']] = ann_id
                annotations.append(
                    dict(
                        id=ann_id,
                        image_id=image_id,
                        category_id=inst['label'] + 1,
                        segmentation=inst['segmentation'],
                        area=inst['area'],
                        bbox=inst['bbox'],
                        iscrowd=0))
            _update_stats(stats, instances, classes, size_ranges)
            if bar is not None:
                bar.update()
        coco = dict(
            info=dict(
                description='mmsolo synthetic shapes (instance segmentation)',
                version=str(GENERATOR_VERSION),
                seed=int(seed)),
            licenses=[],
            images=images,
            annotations=annotations,
            categories=categories)
        with open(osp.join(out_dir, f'{split}.json'), 'w') as f:
            f.write(json.dumps(coco, separators=(',', ':')))
        all_stats[split] = stats
    return all_stats


def _update_stats(stats: dict, instances: List[dict], classes: Sequence[str],
                  size_ranges: Sequence[Range]) -> None:
    stats['num_images'] += 1
    if not instances:
        stats['num_empty_images'] += 1
        return
    stats['num_instances'] += len(instances)
    for inst in instances:
        stats['per_class'][classes[inst['label']]] += 1
        size = float(np.sqrt(inst['bbox'][2] * inst['bbox'][3]))
        for lo, hi in size_ranges:
            if lo <= size <= hi:
                stats['per_size_range'][_range_key(lo, hi)] += 1
        stats['occluded_instances'] += int(inst['area'] < inst['amodal_area'])
        stats['multi_polygon_instances'] += int(len(inst['segmentation']) > 1)
    for i, a in enumerate(instances):
        for b in instances[i + 1:]:
            stats['bbox_overlap_pairs'] += int(
                _boxes_overlap(a['bbox'], b['bbox']))
            stats['touching_pairs'] += int(b['index'] in a['touches'])


def ensure_shapes_dataset(out_dir: str, **kwargs) -> dict:
    """Generate the shapes set unless ``out_dir`` already holds it.

    The set is reused when ``out_dir/shapes_meta.json`` records the same
    arguments (defaults included) and generator version, and the json
    files and every listed image exist; otherwise it is generated again.

    Args:
        out_dir (str): Output folder.
        **kwargs: Arguments of :func:`make_shapes_dataset`.

    Returns:
        dict: What :func:`make_shapes_dataset` returns.
    """
    meta_file = osp.join(out_dir, META_FILE)
    wanted = _wanted_args(**kwargs)
    if osp.isfile(meta_file):
        try:
            with open(meta_file) as f:
                meta = json.load(f)
            if meta.get('args') == wanted and _is_complete(out_dir, meta):
                return _result(out_dir, meta)
        except (OSError, ValueError, KeyError, TypeError):
            pass
    return make_shapes_dataset(out_dir, **kwargs)


def _wanted_args(**kwargs) -> dict:
    """The normalised arguments ``make_shapes_dataset`` would record."""
    bound = _MAKE_SIGNATURE.bind('unused', **kwargs)
    bound.apply_defaults()
    a = dict(bound.arguments)
    img_size = (int(a['img_size'][0]), int(a['img_size'][1]))
    size_ranges = a['size_ranges']
    if size_ranges is None:
        size_ranges = default_size_ranges(img_size)
    return _normalise_args(
        generator_version=GENERATOR_VERSION,
        num_train=int(a['num_train']),
        num_val=int(a['num_val']),
        seed=int(a['seed']),
        img_size=img_size,
        classes=tuple(a['classes']),
        min_objects=int(a['min_objects']),
        max_objects=int(a['max_objects']),
        empty_ratio=float(a['empty_ratio']),
        size_ranges=[(float(lo), float(hi)) for lo, hi in size_ranges],
        overlap_prob=float(a['overlap_prob']),
        min_visible_area=int(a['min_visible_area']),
        min_visible_ratio=float(a['min_visible_ratio']),
        noise_std=[float(v) for v in a['noise_std']],
        min_contrast=float(a['min_contrast']),
        jpeg_quality=int(a['jpeg_quality']))


def _is_complete(out_dir: str, meta: dict) -> bool:
    """Whether the json files and all the images they list exist."""
    for split in SPLITS:
        ann_file = osp.join(out_dir, f'{split}.json')
        if not osp.isfile(ann_file):
            return False
        with open(ann_file) as f:
            coco = json.load(f)
        expected = meta['args'][f'num_{split}']
        if len(coco.get('images', [])) != expected:
            return False
        for img in coco['images']:
            if not osp.isfile(osp.join(out_dir, split, img['file_name'])):
                return False
    return True


_MAKE_SIGNATURE = inspect.signature(make_shapes_dataset)


def format_stats(result: Dict) -> str:
    """A human-readable summary of :func:`make_shapes_dataset`'s result.

    Args:
        result (dict): What :func:`make_shapes_dataset` returns.

    Returns:
        str: A multi-line summary.
    """
    lines = [
        f'shapes set in {result["data_root"]} '
        f'(img_size={tuple(result["img_size"])}, seed={result["seed"]})',
        f'classes: {", ".join(result["classes"])}',
    ]
    for split, stats in result['stats'].items():
        lines.append(f'[{split}] images: {stats["num_images"]} '
                     f'(empty: {stats["num_empty_images"]}), '
                     f'instances: {stats["num_instances"]}')
        lines.append('  per class: ' +
                     ', '.join(f'{k}={v}'
                               for k, v in stats['per_class'].items()))
        lines.append('  per size range (sqrt(w*h), px; ranges overlap): ' +
                     ', '.join(f'[{k}]={v}'
                               for k, v in stats['per_size_range'].items()))
        lines.append(f'  occluded instances: {stats["occluded_instances"]}, '
                     'multi-polygon instances: '
                     f'{stats["multi_polygon_instances"]}, '
                     f'box-overlapping pairs: {stats["bbox_overlap_pairs"]}, '
                     f'touching pairs: {stats["touching_pairs"]}')
    return '\n'.join(lines)

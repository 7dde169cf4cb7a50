# Copyright (c) mmsolo contributors. All rights reserved.
"""Run an exported SOLO ONNX file on images, without PyTorch or mmsolo.

Needs only numpy, OpenCV and one runtime (``onnxruntime`` or
``openvino``): copy this file next to the ``.onnx`` file on the machine you
deploy to. Everything else (class names, the resize the model expects, its
input size) is read from the file's metadata, which
``tools/deployment/export_onnx.py`` writes.

Example::

    python demo/onnx_demo.py data/shapes/val solo.onnx --out-dir outputs

For each image it writes ``OUT_DIR/vis/<name>.png`` (masks, boxes, labels
and scores drawn on the image) and ``OUT_DIR/preds/<name>.json``
(``labels``, ``scores``, ``bboxes`` as xyxy and ``masks`` as COCO RLE, at the
original image size), as ``demo/image_demo.py`` does. Unreadable images are
skipped with a warning; the exit status is 1 when some were.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time
from typing import Dict, List, Tuple

import cv2
import numpy as np

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif',
                  '.tiff', '.webp')
OUTPUT_NAMES = ('masks', 'labels', 'scores', 'boxes')


# 1. the file's metadata
def _varint(buf: bytes, pos: int) -> Tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def _fields(buf: bytes):
    """(field number, bytes) of a protobuf message's length-delimited
    fields (others skipped)."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, pos = _varint(buf, pos)
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            size, pos = _varint(buf, pos)
            yield number, buf[pos:pos + size]
            pos += size
        else:
            raise ValueError(f'unsupported protobuf wire type {wire}')


def read_metadata(onnx_file: str) -> dict:
    """The JSON values of an ONNX file's ``metadata_props`` (ModelProto
    field 14), read without the onnx package."""
    with open(onnx_file, 'rb') as f:
        buf = f.read()
    meta = {}
    for number, entry in _fields(buf):
        if number == 14:  # StringStringEntryProto: key = 1, value = 2
            kv = dict(_fields(entry))
            meta[kv[1].decode()] = json.loads(kv.get(2, b'null').decode())
    if 'classes' not in meta:
        raise ValueError(f'{onnx_file} has no mmsolo metadata: export it with '
                         'tools/deployment/export_onnx.py')
    return meta


# 2. the runtime
def load_model(onnx_file: str,
               runtime: str,
               threads: int,
               precision: str = 'f32'):
    """``run(image) -> dict`` of the outputs, in ``runtime``.

    ``precision='bf16'`` lets OpenVINO compute in bfloat16 on CPUs that have
    it (AVX512-BF16, AMX): faster, but its masks and scores differ a little
    from PyTorch's float32 ones (docs/deployment.md).
    """
    if runtime == 'onnxruntime':
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        session = ort.InferenceSession(
            onnx_file, options, providers=['CPUExecutionProvider'])
        return lambda image: dict(
            zip(OUTPUT_NAMES, session.run(None, {'image': image})))
    import openvino as ov
    config = {
        'PERFORMANCE_HINT': 'LATENCY',
        'INFERENCE_PRECISION_HINT': precision
    }
    if threads:
        config['INFERENCE_NUM_THREADS'] = threads
    request = ov.Core().compile_model(onnx_file, 'CPU',
                                      config).create_infer_request()

    def run(image: np.ndarray) -> Dict[str, np.ndarray]:
        request.infer([image])
        return {
            name: request.get_output_tensor(i).data.copy()
            for i, name in enumerate(OUTPUT_NAMES)
        }

    return run


# 3. pre-processing: the test pipeline's resize, and a letterbox
def resized_size(h: int, w: int, resize: dict) -> Tuple[int, int]:
    """(h, w) after the test pipeline's resize (mmcv's rounding)."""
    if not resize or resize.get('scale') is None:
        return h, w
    scale_w, scale_h = resize['scale']
    if not resize.get('keep_ratio'):
        return scale_h, scale_w
    factor = min(
        max(scale_w, scale_h) / max(h, w),
        min(scale_w, scale_h) / min(h, w))
    return int(h * factor + 0.5), int(w * factor + 0.5)


def preprocess(img: np.ndarray, meta: dict) -> Tuple[np.ndarray, tuple]:
    """The model's input for a BGR image, and the (h, w) of the image in
    it."""
    shape = meta.get('input_shape')
    if shape:  # a static graph: fit inside its input, pad the rest
        h, w = img.shape[:2]
        factor = min(shape[0] / h, shape[1] / w)
        size = (int(h * factor + 0.5), int(w * factor + 0.5))
    else:
        size = resized_size(*img.shape[:2], meta.get('test_resize'))
    if size != img.shape[:2]:
        img = cv2.resize(img, size[::-1], interpolation=cv2.INTER_LINEAR)
    if shape:
        # the pixel value that normalises to the pre-processor's pad value
        fill = np.array(meta['mean'] or [0, 0, 0]) + meta['pad_value'] * \
            np.array(meta['std'] or [1, 1, 1])
        if meta['channel_order'] == 'bgr':  # mean/std are in RGB order
            fill = fill[::-1]
        canvas = np.empty((*shape, 3), np.uint8)
        canvas[:] = np.clip(np.round(fill), 0, 255).astype(np.uint8)
        canvas[:size[0], :size[1]] = img
        img = canvas
    return np.ascontiguousarray(img[None]), size


# 4. post-processing: back to the original image
def to_original(out: Dict[str, np.ndarray], size: tuple,
                orig: tuple) -> Dict[str, np.ndarray]:
    """Masks cropped to the image and resized to its original size, with
    their tight boxes."""
    masks = out['masks'][:, :size[0], :size[1]]
    if size != orig:
        masks = np.stack([
            cv2.resize(
                m.astype(np.float32),
                orig[::-1],
                interpolation=cv2.INTER_LINEAR) > 0.5 for m in masks
        ]) if len(masks) else np.zeros((0, *orig), bool)
    masks = masks.astype(bool)
    boxes = np.zeros((len(masks), 4), np.float32)
    for i, m in enumerate(masks):
        ys, xs = np.nonzero(m.any(1))[0], np.nonzero(m.any(0))[0]
        if len(ys):
            boxes[i] = (xs[0], ys[0], xs[-1] + 1, ys[-1] + 1)
    return dict(
        masks=masks, labels=out['labels'], scores=out['scores'], boxes=boxes)


def rle_encode(mask: np.ndarray) -> dict:
    """COCO RLE (compressed counts string) of a binary mask, as
    ``pycocotools.mask.encode`` gives it."""
    flat = mask.astype(np.uint8).flatten(order='F')
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], change, [len(flat)]])
    counts = np.diff(bounds).tolist()
    if len(flat) and flat[0]:  # runs start with zeros
        counts = [0] + counts
    chars = []
    for i, count in enumerate(counts):
        x = count - counts[i - 2] if i > 2 else count
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = (x != -1) if c & 0x10 else (x != 0)
            if more:
                c |= 0x20
            chars.append(chr(c + 48))
    return dict(size=list(mask.shape), counts=''.join(chars))


def draw(img: np.ndarray, inst: Dict[str, np.ndarray], classes: List[str],
         score_thr: float) -> np.ndarray:
    """Masks, boxes, labels and scores of instances above ``score_thr``."""
    vis = img.copy()
    rng = np.random.default_rng(42)
    palette = rng.integers(64, 256, (max(len(classes), 1), 3))
    for mask, label, score, box in zip(inst['masks'], inst['labels'],
                                       inst['scores'], inst['boxes']):
        if score < score_thr:
            continue
        color = palette[int(label) % len(palette)].tolist()
        vis[mask] = (0.5 * vis[mask] + 0.5 * np.array(color)).astype(np.uint8)
        x0, y0, x1, y1 = box.astype(int).tolist()
        cv2.rectangle(vis, (x0, y0), (x1 - 1, y1 - 1), color, 1)
        cv2.putText(vis, f'{classes[int(label)]}: {score:.2f}',
                    (x0, max(y0 - 3, 10)), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    color, 1, cv2.LINE_AA)
    return vis


# 5. the command
def list_images(inputs: str) -> List[str]:
    """The image files named by ``inputs`` (a file or a folder)."""
    if osp.isdir(inputs):
        return sorted(
            osp.join(inputs, f) for f in os.listdir(inputs)
            if f.lower().endswith(IMG_EXTENSIONS))
    if not osp.isfile(inputs):
        raise SystemExit(f'{inputs} does not exist')
    return [inputs]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('inputs', help='an image file or a folder of images')
    parser.add_argument('onnx', help='the exported .onnx file')
    parser.add_argument('--out-dir', default='outputs', help='output folder')
    parser.add_argument(
        '--runtime',
        default='onnxruntime',
        choices=['onnxruntime', 'openvino'],
        help='inference runtime')
    parser.add_argument(
        '--pred-score-thr',
        type=float,
        default=0.3,
        help='draw instances scoring at least this')
    parser.add_argument(
        '--threads', type=int, default=0, help='threads (0: the runtime\'s)')
    parser.add_argument(
        '--precision',
        default='f32',
        choices=['f32', 'bf16'],
        help='OpenVINO: bf16 is faster on CPUs with AVX512-BF16/AMX, with '
        'masks and scores a little different from PyTorch\'s')
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    meta = read_metadata(args.onnx)
    run = load_model(args.onnx, args.runtime, args.threads, args.precision)
    images = list_images(args.inputs)
    for sub in ('vis', 'preds'):
        os.makedirs(osp.join(args.out_dir, sub), exist_ok=True)
    failed, seconds = [], []
    for path in images:
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            print(
                f'WARNING: skipping {path}: not a readable image',
                file=sys.stderr)
            failed.append(path)
            continue
        inp, size = preprocess(img, meta)
        start = time.perf_counter()
        out = run(inp)
        seconds.append(time.perf_counter() - start)
        inst = to_original(out, size, img.shape[:2])
        name = osp.splitext(osp.basename(path))[0]
        cv2.imwrite(
            osp.join(args.out_dir, 'vis', name + '.png'),
            draw(img, inst, meta['classes'], args.pred_score_thr))
        with open(osp.join(args.out_dir, 'preds', name + '.json'), 'w') as f:
            json.dump(
                dict(
                    labels=inst['labels'].tolist(),
                    scores=inst['scores'].tolist(),
                    bboxes=inst['boxes'].tolist(),
                    masks=[rle_encode(m) for m in inst['masks']]), f)
    done = len(images) - len(failed)
    median = f', {1000 * float(np.median(seconds)):.1f} ms per image ' \
        f'(median)' if seconds else ''
    print(f'{args.runtime}: {done} of {len(images)} images{median}; wrote '
          f'{osp.join(args.out_dir, "vis")} and '
          f'{osp.join(args.out_dir, "preds")}')
    return 1 if failed or not images else 0


if __name__ == '__main__':
    sys.exit(main())

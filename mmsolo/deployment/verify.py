# Copyright (c) mmsolo contributors. All rights reserved.
"""Check an exported file against mmsolo's PyTorch ``predict``.

For each image: the config's test pipeline loads and resizes it, PyTorch
predicts at the network input size (``rescale=False``), each runtime runs
the exported file on the same uint8 image, and :func:`compare_instances`
checks the outputs: the same number of instances with the same labels,
scores within ``score_tol``, every matched mask with IoU >= ``min_iou`` and
boxes within ``box_tol`` pixels.
"""
from typing import Callable, Dict, List, Sequence

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config

#: the runtimes an exported file is checked in
RUNTIMES = ('onnxruntime', 'openvino')

Instances = Dict[str, np.ndarray]


def load_runtime(onnx_file: str,
                 runtime: str,
                 threads: int = 0) -> Callable[[np.ndarray], Instances]:
    """A function that runs the exported file in ``runtime``.

    Args:
        onnx_file (str): The exported file.
        runtime (str): ``'onnxruntime'`` or ``'openvino'``.
        threads (int): Intra-op threads; 0 lets the runtime choose.

    Returns:
        callable: ``run(image)`` with a uint8 (1, H, W, 3) array, returning
        the outputs by name as numpy arrays.
    """
    from .graph import OUTPUT_NAMES
    if runtime == 'onnxruntime':
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        session = ort.InferenceSession(
            onnx_file, options, providers=['CPUExecutionProvider'])
        return lambda image: dict(
            zip(OUTPUT_NAMES, session.run(None, {'image': image})))
    if runtime == 'openvino':
        import openvino as ov
        core = ov.Core()
        # float32: on CPUs with AVX512-BF16/AMX OpenVINO would otherwise
        # compute in bfloat16, whose masks and scores differ from PyTorch's
        config = {
            'PERFORMANCE_HINT': 'LATENCY',
            'INFERENCE_PRECISION_HINT': 'f32'
        }
        if threads:
            config['INFERENCE_NUM_THREADS'] = threads
        compiled = core.compile_model(onnx_file, 'CPU', config)
        request = compiled.create_infer_request()

        def run(image: np.ndarray) -> Instances:
            request.infer([image])
            return {
                name: request.get_output_tensor(i).data.copy()
                for i, name in enumerate(OUTPUT_NAMES)
            }

        return run
    raise ValueError(f'runtime must be one of {RUNTIMES}, got {runtime!r}')


def test_pipeline_inputs(cfg: Config, image: str) -> dict:
    """Load and resize an image file with the config's test pipeline.

    Args:
        cfg (Config): The model's config.
        image (str): Image file.

    Returns:
        dict: ``inputs`` (uint8 CHW tensor) and ``data_samples``.
    """
    from mmcv.transforms import Compose
    from mmengine.registry import init_default_scope
    init_default_scope(cfg.get('default_scope', 'mmsolo'))
    pipeline = [
        step for step in cfg.test_dataloader.dataset.pipeline
        if 'LoadAnnotations' not in str(step['type'])
    ]
    return Compose(pipeline)(dict(img_path=image, img_id=0))


@torch.no_grad()
def pytorch_instances(model: nn.Module, data: dict) -> Instances:
    """mmsolo's PyTorch prediction at the network input size."""
    batch = model.data_preprocessor(
        dict(inputs=[data['inputs']], data_samples=[data['data_samples']]),
        False)
    pred = model.predict(
        batch['inputs'], batch['data_samples'],
        rescale=False)[0].pred_instances
    return dict(
        masks=pred.masks.numpy().astype(np.uint8),
        labels=pred.labels.numpy(),
        scores=pred.scores.numpy(),
        boxes=pred.bboxes.numpy())


def graph_input(data: dict) -> np.ndarray:
    """The exported graph's input for a test-pipeline result."""
    return np.ascontiguousarray(data['inputs'].permute(1, 2, 0).numpy()[None])


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two binary masks (1 when both are empty)."""
    a, b = a.astype(bool), b.astype(bool)
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def compare_instances(ref: Instances,
                      out: Instances,
                      score_tol: float = 1e-3,
                      min_iou: float = 0.99,
                      box_tol: float = 1.0) -> List[str]:
    """What differs between two sets of instances; empty when they agree.

    Instances are matched in the order of the reference's scores, each to
    the unmatched output instance of the same label with the closest score
    (ties of equal scores may come out in either order), then the IoU of
    the matched masks decides among those within ``score_tol``.

    Args:
        ref (dict): The reference (PyTorch) instances.
        out (dict): The runtime's instances.
        score_tol (float): Largest score difference.
        min_iou (float): Smallest IoU of matched masks.
        box_tol (float): Largest coordinate difference of matched boxes.

    Returns:
        list[str]: One line per problem.
    """
    problems = []
    n_ref, n_out = len(ref['scores']), len(out['scores'])
    if n_ref != n_out:
        problems.append(f'{n_out} instances, PyTorch has {n_ref}')
    if out['masks'].shape[1:] != ref['masks'].shape[1:]:
        return problems + [
            f'masks of size {out["masks"].shape[1:]}, PyTorch has '
            f'{ref["masks"].shape[1:]}'
        ]
    free = np.ones(n_out, dtype=bool)
    for i in range(n_ref):
        close = np.flatnonzero(free & (out['labels'] == ref['labels'][i]) & (
            np.abs(out['scores'] - ref['scores'][i]) <= score_tol))
        if len(close) == 0:
            problems.append(
                f'PyTorch instance {i} (label {ref["labels"][i]}, score '
                f'{ref["scores"][i]:.4f}) has no match')
            continue
        ious = [mask_iou(ref['masks'][i], out['masks'][j]) for j in close]
        j = close[int(np.argmax(ious))]
        free[j] = False
        if max(ious) < min_iou:
            problems.append(f'instance {i}: mask IoU {max(ious):.4f}')
        box_diff = np.abs(out['boxes'][j] - ref['boxes'][i]).max()
        if box_diff > box_tol:
            problems.append(f'instance {i}: boxes differ by {box_diff:.1f}')
    return problems


def verify_onnx(model: nn.Module,
                cfg: Config,
                onnx_file: str,
                images: Sequence[str],
                runtimes: Sequence[str] = RUNTIMES) -> List[dict]:
    """Compare the exported file with PyTorch on images, in each runtime.

    Args:
        model (nn.Module): The exported model, in eval mode.
        cfg (Config): Its config.
        onnx_file (str): The exported file.
        images (Sequence[str]): Image files.
        runtimes (Sequence[str]): Runtimes to check.

    Returns:
        list[dict]: One row per (image, runtime): ``image``, ``runtime``,
        ``shape`` (network input), ``instances`` (PyTorch's count) and
        ``problems`` (empty when they agree).
    """
    runs = {name: load_runtime(onnx_file, name) for name in runtimes}
    rows = []
    for image in images:
        data = test_pipeline_inputs(cfg, image)
        ref = pytorch_instances(model, data)
        inp = graph_input(data)
        for name, run in runs.items():
            rows.append(
                dict(
                    image=image,
                    runtime=name,
                    shape=tuple(inp.shape[1:3]),
                    instances=len(ref['scores']),
                    problems=compare_instances(ref, run(inp))))
    return rows

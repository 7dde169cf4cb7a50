# Copyright (c) mmsolo contributors. All rights reserved.
"""Export a SOLO model to one self-contained ONNX file.

The file holds :class:`~mmsolo.deployment.graph.SOLOInferenceGraph` (image
in, instances out) and, in its ``metadata_props``, everything a user needs
to run it without the config: class names, the pre-processing, the test
pipeline's resize, the ``test_cfg`` values, the mmsolo version and the
config's name (see :func:`export_metadata`).
"""
import json
import os.path as osp
import warnings
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.config import Config

from mmsolo.version import __version__
from .graph import INPUT_NAMES, OUTPUT_NAMES, SOLOInferenceGraph

#: the opset the exporter writes by default (ONNX Runtime >= 1.12,
#: OpenVINO >= 2022.1)
DEFAULT_OPSET = 17


def test_resize(cfg: Config) -> dict:
    """The test pipeline's resize: ``scale`` (w, h) and ``keep_ratio``.

    Args:
        cfg (Config): The model's config.

    Returns:
        dict: ``scale`` as a list [w, h] (None without a resize) and
        ``keep_ratio``.
    """
    pipeline = cfg.get('test_dataloader', {}).get('dataset',
                                                  {}).get('pipeline', [])
    for step in pipeline:
        if str(step.get('type', '')).split('.')[-1] == 'Resize':
            scale = step.get('scale')
            if isinstance(scale, int):
                scale = (scale, scale)
            return dict(
                scale=list(scale) if scale is not None else None,
                keep_ratio=bool(step.get('keep_ratio', False)))
    return dict(scale=None, keep_ratio=False)


def export_metadata(graph: SOLOInferenceGraph, cfg: Config, config_name: str,
                    dynamic: bool,
                    shape: Optional[Tuple[int, int]]) -> Dict[str, str]:
    """The ``metadata_props`` of the exported file, as strings.

    Args:
        graph (SOLOInferenceGraph): The exported graph.
        cfg (Config): The model's config.
        config_name (str): The config file's name.
        dynamic (bool): Whether the input size is dynamic.
        shape (tuple[int], optional): (H, W) of a static input.

    Returns:
        dict[str, str]: JSON-encoded values; see ``docs/deployment.md``.
    """
    model = graph.model
    head = model.mask_head
    classes = model.dataset_meta.get('classes') if getattr(
        model, 'dataset_meta', None) else None
    if classes is None:
        classes = cfg.get('test_dataloader', {}).get('dataset',
                                                     {}).get('metainfo',
                                                             {}).get('classes')
    if classes is None:
        classes = [str(i) for i in range(head.num_classes)]
    test_cfg = {
        k: (list(v) if isinstance(v, tuple) else v)
        for k, v in head.test_cfg.items()
    }
    meta = dict(
        mmsolo_version=__version__,
        config=config_name,
        model_type=type(head).__name__,
        classes=list(classes),
        input_name=INPUT_NAMES[0],
        input_format='uint8 NHWC, N=1, channels as loaded (BGR for OpenCV)',
        channel_order='bgr' if graph.flip_channels else 'rgb',
        mean=graph.mean.flatten().tolist() if graph.normalize else None,
        std=graph.std.flatten().tolist() if graph.normalize else None,
        pad_size_divisor=graph.pad_size_divisor,
        pad_value=graph.pad_value,
        test_resize=test_resize(cfg),
        dynamic=dynamic,
        input_shape=list(shape) if shape else None,
        test_cfg=test_cfg,
        outputs=list(OUTPUT_NAMES))
    return {k: json.dumps(v) for k, v in meta.items()}


def read_metadata(onnx_file: str) -> dict:
    """The decoded ``metadata_props`` of an exported file."""
    import onnx
    model = onnx.load(onnx_file, load_external_data=False)
    return {p.key: json.loads(p.value) for p in model.metadata_props}


def export_onnx(model: nn.Module,
                cfg: Config,
                out_file: str,
                shape: Sequence[int],
                dynamic: bool = False,
                opset: int = DEFAULT_OPSET,
                config_name: Optional[str] = None) -> str:
    """Trace the model's inference graph into ``out_file``.

    Args:
        model (nn.Module): A built SOLO model with its weights (float32).
        cfg (Config): Its config.
        out_file (str): The ``.onnx`` file to write.
        shape (Sequence[int]): (H, W) of the example input; the input size
            of a static graph.
        dynamic (bool): Let the input's height and width vary.
        opset (int): ONNX opset.
        config_name (str, optional): Recorded in the metadata; defaults to
            the config's file name.

    Returns:
        str: ``out_file``.
    """
    import onnx
    model = model.float().eval()
    graph = SOLOInferenceGraph(model).eval()
    h, w = int(shape[0]), int(shape[1])
    example = torch.zeros((1, h, w, 3), dtype=torch.uint8)
    dynamic_axes = None
    if dynamic:
        dynamic_axes = {INPUT_NAMES[0]: {1: 'height', 2: 'width'}}
        dynamic_axes.update(
            {name: {
                0: 'num_instances'
            }
             for name in OUTPUT_NAMES})
        dynamic_axes['masks'].update({1: 'height', 2: 'width'})
    with torch.no_grad(), warnings.catch_warnings():
        # the tracer warns about every Python int it records; the graph's
        # branches on sizes are structural (see SOLOInferenceGraph)
        warnings.filterwarnings('ignore', category=torch.jit.TracerWarning)
        warnings.filterwarnings('ignore', category=DeprecationWarning)
        warnings.filterwarnings('ignore', category=UserWarning)
        torch.onnx.export(
            graph, (example, ),
            out_file,
            dynamo=False,
            opset_version=opset,
            input_names=list(INPUT_NAMES),
            output_names=list(OUTPUT_NAMES),
            dynamic_axes=dynamic_axes
            or {name: {
                0: 'num_instances'
            }
                for name in OUTPUT_NAMES},
            do_constant_folding=True)
    if config_name is None:
        config_name = osp.basename(cfg.filename or 'config.py')
    meta = export_metadata(graph, cfg, config_name, dynamic,
                           None if dynamic else (h, w))
    onnx_model = onnx.load(out_file)
    del onnx_model.metadata_props[:]
    for key, value in meta.items():
        onnx_model.metadata_props.add(key=key, value=value)
    onnx_model.producer_name = 'mmsolo'
    onnx_model.producer_version = __version__
    onnx.save(onnx_model, out_file)
    return out_file

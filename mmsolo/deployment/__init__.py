# Copyright (c) mmsolo contributors. All rights reserved.
"""Deployment: SOLO models as self-contained ONNX files.

See ``docs/deployment.md``.
"""
from .graph import (INPUT_NAMES, OUTPUT_NAMES, ExportError, SOLOInferenceGraph,
                    check_exportable)
from .onnx_export import (DEFAULT_OPSET, export_metadata, export_onnx,
                          read_metadata, test_resize)
from .verify import (RUNTIMES, compare_instances, load_runtime,
                     pytorch_instances, test_pipeline_inputs, verify_onnx)

__all__ = [
    'INPUT_NAMES', 'OUTPUT_NAMES', 'ExportError', 'SOLOInferenceGraph',
    'check_exportable', 'DEFAULT_OPSET', 'export_metadata', 'export_onnx',
    'read_metadata', 'test_resize', 'RUNTIMES', 'compare_instances',
    'load_runtime', 'pytorch_instances', 'test_pipeline_inputs', 'verify_onnx'
]

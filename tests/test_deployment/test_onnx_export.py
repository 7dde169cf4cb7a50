# Copyright (c) mmsolo contributors. All rights reserved.
"""ONNX export: the file in onnxruntime and OpenVINO equals PyTorch."""
import json

import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config, ConfigDict

from mmsolo.deployment import (ExportError, compare_instances, export_onnx,
                               load_runtime, read_metadata)
from tests.test_models.equivalence_utils import (HEAD_TYPES, small_solo_cfg,
                                                 to_mmsolo)

RUNTIMES = ('onnxruntime', 'openvino')
#: square and non-square inputs, none of them the traced example's size
SIZES = ((128, 160), (96, 96), (160, 64))


def build_model(kind, cls_bias=-2.0, seed=0, **head_kw):
    """A small SOLO with output convs that give masks and candidates."""
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope

    from mmsolo.registry import MODELS
    init_default_scope('mmsolo')
    MMLogger.get_current_instance().setLevel('WARNING')
    torch.manual_seed(seed)
    model = MODELS.build(
        ConfigDict(to_mmsolo(small_solo_cfg(kind, **head_kw))))
    model.init_weights()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, conv in model.mask_head.named_modules():
            output = name.startswith(('conv_mask_list', 'conv_cls'))
            if output and hasattr(conv, 'weight'):
                gain = 1.0 if name == 'conv_cls' else 3.0
                conv.weight.copy_(
                    torch.randn(conv.weight.shape, generator=gen) * gain /
                    conv.weight[0].numel()**0.5)
                conv.bias.fill_(cls_bias if name == 'conv_cls' else 0.)
    return model.eval()


def export(model, path, shape=(128, 160), dynamic=True, classes=None):
    cfg = Config(
        dict(
            test_dataloader=dict(
                dataset=dict(
                    metainfo=dict(classes=classes),
                    pipeline=[
                        dict(
                            type='mmdet.Resize',
                            scale=(160, 128),
                            keep_ratio=True)
                    ]))))
    return export_onnx(
        model, cfg, str(path), shape, dynamic=dynamic, config_name='tiny.py')


def pytorch_instances(model, image):
    """mmsolo's PyTorch predict on a uint8 (1, H, W, 3) image."""
    h, w = image.shape[1:3]
    sample = DetDataSample(
        metainfo=dict(
            img_shape=(h, w), ori_shape=(h, w), scale_factor=(1., 1.)))
    batch = model.data_preprocessor(
        dict(
            inputs=[torch.from_numpy(image[0]).permute(2, 0, 1)],
            data_samples=[sample]), False)
    with torch.no_grad():
        pred = model.predict(
            batch['inputs'], batch['data_samples'],
            rescale=False)[0].pred_instances
    return dict(
        masks=pred.masks.numpy().astype(np.uint8),
        labels=pred.labels.numpy(),
        scores=pred.scores.numpy(),
        boxes=pred.bboxes.numpy())


def image(shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 255, (1, *shape, 3), dtype=np.uint8)


def check_equal(model, onnx_file, sizes=SIZES):
    """Every runtime gives PyTorch's instances at every size; their count."""
    counts = []
    for runtime in RUNTIMES:
        run = load_runtime(str(onnx_file), runtime)
        for i, size in enumerate(sizes):
            img = image(size, seed=i)
            ref = pytorch_instances(model, img)
            out = run(img)
            assert out['masks'].dtype == np.uint8
            assert out['masks'].shape[1:] == size
            assert out['labels'].dtype == np.int64
            assert out['boxes'].shape == (len(out['scores']), 4)
            assert compare_instances(ref, out) == [], (runtime, size)
            counts.append(len(ref['scores']))
    return counts


@pytest.mark.parametrize('kind', list(HEAD_TYPES))
def test_dynamic_export_equals_pytorch(kind, tmp_path):
    model = build_model(kind)
    counts = check_equal(model, export(model, tmp_path / 'm.onnx'))
    assert min(counts) > 0  # the comparison compared instances


@pytest.mark.parametrize('kind', list(HEAD_TYPES))
def test_no_instance_gives_empty_outputs(kind, tmp_path):
    model = build_model(kind, cls_bias=-20.0)
    onnx_file = export(model, tmp_path / 'm.onnx')
    for runtime in RUNTIMES:
        out = load_runtime(str(onnx_file), runtime)(image((96, 128)))
        assert out['masks'].shape == (0, 96, 128)
        assert out['labels'].shape == out['scores'].shape == (0, )
        assert out['boxes'].shape == (0, 4)


@pytest.mark.parametrize('kind', list(HEAD_TYPES))
def test_unconfident_model_equals_pytorch(kind, tmp_path):
    # every cell of every class above score_thr: nms_pre bounds the work
    model = build_model(kind, cls_bias=8.0)
    model.mask_head.test_cfg.nms_pre = 60
    model.mask_head.test_cfg.max_per_img = 20
    counts = check_equal(model, export(model, tmp_path / 'm.onnx'), SIZES[:2])
    assert min(counts) == 20


def test_flip_tta_inside_the_graph(tmp_path):
    model = build_model('vanilla')
    model.mask_head.test_cfg.tta_flips = ('horizontal', 'diagonal')
    onnx_file = export(model, tmp_path / 'm.onnx')
    assert check_equal(model, onnx_file, SIZES[:1])[0] > 0
    meta = read_metadata(str(onnx_file))
    assert meta['test_cfg']['tta_flips'] == ['horizontal', 'diagonal']


def test_static_export_and_metadata(tmp_path):
    model = build_model('light')
    classes = ['circle', 'square', 'triangle', 'star']
    onnx_file = export(
        model, tmp_path / 'm.onnx', (96, 128), dynamic=False, classes=classes)
    check_equal(model, onnx_file, [(96, 128)])
    meta = read_metadata(str(onnx_file))
    assert meta['classes'] == classes
    assert meta['input_shape'] == [96, 128] and meta['dynamic'] is False
    assert meta['pad_size_divisor'] == 32 and meta['channel_order'] == 'bgr'
    np.testing.assert_allclose(meta['mean'], [123.675, 116.28, 103.53])
    assert meta['test_resize'] == dict(scale=[160, 128], keep_ratio=True)
    assert meta['test_cfg']['score_thr'] == 0.1
    assert meta['model_type'] == 'DecoupledSOLOLightHead'
    assert meta['config'] == 'tiny.py' and 'mmsolo_version' in meta
    # a static graph takes only its own size
    run = load_runtime(str(onnx_file), 'onnxruntime')
    with pytest.raises(Exception):
        run(image((128, 128)))


def test_refuses_mask_nms_dcn_and_adaptive_pool(tmp_path):
    model = build_model('vanilla')
    model.mask_head.test_cfg.nms_type = 'mask'
    with pytest.raises(ExportError, match='nms_type=matrix'):
        export(model, tmp_path / 'm.onnx')
    dcn = build_model('light', dcn_cfg=dict(type='DCNv2'))
    with pytest.raises(ExportError, match='deformable'):
        export(dcn, tmp_path / 'd.onnx')
    pool = build_model('decoupled', cls_align='adaptive_pool')
    with pytest.raises(ExportError, match='adaptive'):
        export(pool, tmp_path / 'p.onnx')


def test_metadata_is_json(tmp_path):
    import onnx
    onnx_file = export(build_model('decoupled'), tmp_path / 'm.onnx')
    props = onnx.load(str(onnx_file)).metadata_props
    assert {p.key
            for p in props} >= {
                'classes', 'mean', 'std', 'pad_size_divisor', 'test_cfg',
                'mmsolo_version', 'config'
            }
    for p in props:
        json.loads(p.value)


MEASURE_RUN = r'''
import ctypes, json, sys
import numpy as np
sys.path.insert(0, sys.argv[2])
from onnx_demo import load_model
run = load_model(sys.argv[1], 'onnxruntime', 1)
run(np.zeros((1, 64, 64, 3), np.uint8))  # warm-up at another size
ctypes.CDLL('libc.so.6').malloc_trim(0)
with open('/proc/self/clear_refs', 'w') as f:  # reset the peak RSS
    f.write('5')
def kib(key):
    with open('/proc/self/status') as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key))
before = kib('VmRSS:')
img = np.random.default_rng(0).integers(0, 255, (1, 384, 384, 3), np.uint8)
out = run(img)
print(json.dumps(dict(mib=(kib('VmHWM:') - before) / 1024,
                      n=len(out['scores']))))
'''


def run_peak_memory(onnx_file):
    """Peak memory (MiB) a 384x384 run adds, in a fresh process."""
    import subprocess
    import sys
    from pathlib import Path
    demo = str(Path(__file__).resolve().parents[2] / 'demo')
    proc = subprocess.run(
        [sys.executable, '-c', MEASURE_RUN,
         str(onnx_file), demo],
        capture_output=True,
        text=True,
        timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(
    not __import__('os').path.exists('/proc/self/clear_refs'),
    reason='needs Linux /proc to measure the peak memory')
def test_unconfident_graph_memory_is_bounded(tmp_path):
    """Every cell above score_thr: the masks are computed nms_pre at a time.

    With 3872 cells and 96x96 first-level masks at a 384x384 input, the soft
    masks of all cells take 136 MiB (float32); in chunks of 50 cells, 1.8
    MiB each. Larger chunks must cost more: the measurement can tell.
    """
    grids = [40, 36, 24, 16, 12]
    figures = {}
    for name, bias, nms_pre in [('none', -20.0, 50), ('all', 8.0, 50),
                                ('all, big chunks', 8.0, 1000)]:
        model = build_model('vanilla', cls_bias=bias, num_grids=grids)
        model.mask_head.test_cfg.nms_pre = nms_pre
        model.mask_head.test_cfg.max_per_img = 10
        onnx_file = export(model, tmp_path / f'{nms_pre}_{bias}.onnx',
                           (384, 384))
        figures[name] = run_peak_memory(onnx_file)
    all_cells = sum(s * s for s in grids) * 96 * 96 * 4 / 2**20
    assert figures['none']['n'] == 0 and figures['all']['n'] == 10
    added = figures['all']['mib'] - figures['none']['mib']
    assert added < all_cells / 4, figures
    assert figures['all, big chunks']['mib'] - figures['all']['mib'] > \
        all_cells / 8, figures

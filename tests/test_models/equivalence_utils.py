# Copyright (c) mmsolo contributors. All rights reserved.
"""Build mmdet's and mmsolo's SOLO from equivalent small configs."""
import copy

import numpy as np
import torch
from mmdet.structures import DetDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.config import ConfigDict
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

HEAD_TYPES = {
    'vanilla': 'SOLOHead',
    'decoupled': 'DecoupledSOLOHead',
    'light': 'DecoupledSOLOLightHead',
}
#: with SOLOv2 (not in HEAD_TYPES: the ONNX export tests take those)
ALL_HEAD_TYPES = dict(HEAD_TYPES, solov2='SOLOv2Head')


def small_solo_cfg(kind='vanilla', num_classes=4, channels=32, **head_kw):
    """A small SOLO config without a scope prefix on mmsolo-style names."""
    decoupled = kind in ('decoupled', 'light')
    head = dict(
        type=ALL_HEAD_TYPES[kind],
        num_classes=num_classes,
        in_channels=channels,
        stacked_convs=2,
        feat_channels=channels,
        strides=[8, 8, 16, 32, 32],
        scale_ranges=((1, 48), (24, 96), (48, 192), (96, 384), (192, 2048)),
        pos_scale=0.2,
        num_grids=[20, 18, 12, 8, 6],
        cls_down_index=0,
        loss_mask=dict(
            type='DiceLoss',
            use_sigmoid=True,
            activate=not decoupled,
            loss_weight=3.0),
        loss_cls=dict(
            type='FocalLoss',
            use_sigmoid=True,
            gamma=2.0,
            alpha=0.25,
            loss_weight=1.0),
        norm_cfg=dict(type='GN', num_groups=8, requires_grad=True))
    if kind == 'solov2':
        head.update(
            feat_channels=2 * channels,
            mask_feature_head=dict(
                feat_channels=channels // 2,
                start_level=0,
                end_level=3,
                out_channels=channels,
                mask_stride=4,
                norm_cfg=dict(type='GN', num_groups=4, requires_grad=True)))
    head.update(head_kw)
    return dict(
        type='SOLOv2' if kind == 'solov2' else 'SOLO',
        data_preprocessor=dict(
            type='DetDataPreprocessor',
            mean=[123.675, 116.28, 103.53],
            std=[58.395, 57.12, 57.375],
            bgr_to_rgb=True,
            pad_mask=True,
            pad_size_divisor=32),
        backbone=dict(
            type='ResNet',
            depth=18,
            num_stages=4,
            out_indices=(0, 1, 2, 3),
            frozen_stages=-1,
            norm_cfg=dict(type='BN', requires_grad=True),
            style='pytorch',
            init_cfg=None),
        neck=dict(
            type='FPN',
            in_channels=[64, 128, 256, 512],
            out_channels=channels,
            start_level=0,
            num_outs=5),
        mask_head=head,
        test_cfg=dict(
            nms_pre=500,
            score_thr=0.1,
            mask_thr=0.5,
            filter_thr=0.05,
            kernel='gaussian',
            sigma=2.0,
            max_per_img=100))


def to_mmdet(cfg):
    """mmdet's version of a config: everything in mmdet's scope."""
    cfg = copy.deepcopy(cfg)
    for key in ('lazy_mask_conv', 'nms_type', 'iou_thr', 'with_cp',
                'mask_upsample', 'soft_mask_targets'):
        cfg['mask_head'].pop(key, None)
        cfg['test_cfg'].pop(key, None)
    if cfg['mask_head']['type'] == 'SOLOv2Head':
        cfg['mask_head']['type'] = 'SOLOV2Head'
    return cfg


def to_mmsolo(cfg):
    """mmsolo's version: mmdet modules prefixed with ``mmdet.``."""
    cfg = copy.deepcopy(cfg)
    for key in ('data_preprocessor', 'backbone', 'neck'):
        cfg[key]['type'] = 'mmdet.' + cfg[key]['type']
    cfg['mask_head']['loss_cls']['type'] = 'mmdet.FocalLoss'
    return cfg


def build_pair(kind='vanilla', seed=0, cls_bias=None, **head_kw):
    """Build (mmdet_model, mmsolo_model) sharing the same weights."""
    from mmdet.registry import MODELS as MMDET_MODELS

    from mmsolo.registry import MODELS
    cfg = small_solo_cfg(kind, **head_kw)
    MMLogger.get_current_instance().setLevel('WARNING')
    init_default_scope('mmdet')
    torch.manual_seed(seed)
    ref = MMDET_MODELS.build(ConfigDict(to_mmdet(cfg)))
    ref.init_weights()
    if cls_bias is not None:
        # Spread the outputs so that masks and scores vary between cells.
        for name, param in ref.mask_head.named_parameters():
            if name.startswith(('conv_mask_list', 'conv_cls', 'conv_kernel')):
                if name.endswith('weight'):
                    torch.nn.init.normal_(param, std=0.3)
                else:
                    torch.nn.init.constant_(param,
                                            cls_bias if 'cls' in name else 0.)
    init_default_scope('mmsolo')
    ours = MODELS.build(ConfigDict(to_mmsolo(cfg)))
    ours.load_state_dict(ref.state_dict(), strict=True)
    return ref, ours


def random_masks(rng, num, h, w):
    """Random blob-like instance masks with boxes and labels."""
    masks = np.zeros((num, h, w), dtype=np.uint8)
    yy, xx = np.mgrid[:h, :w]
    for i in range(num):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        ry, rx = rng.uniform(3, h / 2), rng.uniform(3, w / 2)
        masks[i] = ((yy - cy)**2 / ry**2 + (xx - cx)**2 / rx**2) <= 1
    return masks


def make_batch(seed=0,
               sizes=((96, 128), (128, 96)),
               num_gts=(3, 0),
               num_classes=4):
    """A batch of inputs and data samples with random instances."""
    rng = np.random.default_rng(seed)
    inputs, samples = [], []
    for (h, w), n in zip(sizes, num_gts):
        inputs.append(
            torch.from_numpy(rng.integers(0, 255, (3, h, w))).to(torch.uint8))
        sample = DetDataSample()
        sample.set_metainfo(
            dict(
                img_shape=(h, w),
                ori_shape=(h, w),
                scale_factor=(1., 1.),
                img_id=0))
        gt = InstanceData()
        masks = random_masks(rng, n, h, w)
        bitmap = BitmapMasks(masks, h, w)
        gt.masks = bitmap
        gt.bboxes = bitmap.get_bboxes(dst_type='hbox').tensor
        gt.labels = torch.from_numpy(rng.integers(0, num_classes, n)).long()
        sample.gt_instances = gt
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)

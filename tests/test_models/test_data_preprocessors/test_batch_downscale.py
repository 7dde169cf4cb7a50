# Copyright (c) mmsolo contributors. All rights reserved.
"""BatchDownscale: lower-resolution batches with their annotations."""
import numpy as np
import pytest
import torch
from mmdet.models.data_preprocessors import DetDataPreprocessor
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import HorizontalBoxes
from mmdet.structures.mask import BitmapMasks
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

from mmsolo.models.data_preprocessors import BatchDownscale


def _batch(shapes=((160, 160), (128, 160))):
    """uint8 images with a filled square each, as the data loader packs
    them, and their samples (masks and boxes of the square)."""
    inputs, samples = [], []
    for h, w in shapes:
        img = np.zeros((3, h, w), np.uint8)
        img[:, 40:80, 60:100] = 200
        mask = np.zeros((1, h, w), np.uint8)
        mask[0, 40:80, 60:100] = 1
        sample = DetDataSample(
            metainfo=dict(img_shape=(h, w), scale_factor=(0.625, 0.625)))
        sample.gt_instances = InstanceData(
            masks=BitmapMasks(mask, h, w),
            bboxes=HorizontalBoxes(torch.tensor([[60., 40., 100., 80.]])),
            labels=torch.tensor([0]))
        inputs.append(torch.from_numpy(img))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def _preprocessor(**aug):
    return DetDataPreprocessor(
        pad_mask=True,
        pad_size_divisor=32,
        batch_augments=[dict(type='BatchDownscale', enabled=True, **aug)])


def test_downscales_batch_masks_boxes_and_shapes():
    init_default_scope('mmsolo')  # the preprocessor builds it by name
    out = _preprocessor(ratio=0.6)(_batch(), training=True)
    assert out['inputs'].shape == (2, 3, 96, 96)
    for sample, (h, w) in zip(out['data_samples'], [(96, 96), (77, 96)]):
        assert sample.batch_input_shape == (96, 96)
        # each image's own padding (128 is a multiple of 32): 128 * 0.6
        assert sample.pad_shape == sample.img_shape == (h, w)
        assert sample.scale_factor == pytest.approx((0.375, 0.375))
        masks = sample.gt_instances.masks
        assert (masks.height, masks.width) == (96, 96)
        # the square 40:80 x 60:100 at 0.6: 24:48 x 36:60
        rows, cols = np.nonzero(masks.masks[0])
        assert (rows.min(), rows.max() + 1) == (24, 48)
        assert (cols.min(), cols.max() + 1) == (36, 60)
        # boxes: tensors by now (the preprocessor's boxtype2tensor)
        torch.testing.assert_close(sample.gt_instances.bboxes,
                                   torch.tensor([[36., 24., 60., 48.]]))
    # the image itself: the square's pixels are where the mask is
    img = out['inputs'][0, 0]
    assert img[30, 45] > 100 and img[10, 10] < 1


def test_off_by_default_and_in_testing():
    init_default_scope('mmsolo')
    pre = DetDataPreprocessor(
        pad_mask=True,
        pad_size_divisor=32,
        batch_augments=[dict(type='BatchDownscale', ratio=0.6)])
    off = pre(_batch(), training=True)
    assert off['inputs'].shape == (2, 3, 160, 160)
    assert off['data_samples'][0].gt_instances.masks.height == 160
    # batch augments run in training only
    test = _preprocessor(ratio=0.6)(_batch(), training=False)
    assert test['inputs'].shape == (2, 3, 160, 160)


def test_out_shape_is_a_multiple_of_the_divisor():
    aug = BatchDownscale(ratio=0.6)
    assert aug.out_shape(160, 160) == (96, 96)
    assert aug.out_shape(160, 224) == (96, 128)  # 134.4 -> 128
    assert aug.out_shape(32, 32) == (32, 32)  # never below one divisor
    # a ratio that rounds back to the input size changes nothing
    batch = torch.zeros(1, 3, 64, 64)
    assert BatchDownscale(0.9, enabled=True)(batch, [])[0] is batch


def test_box_structures_are_rescaled_too():
    init_default_scope('mmsolo')
    pre = DetDataPreprocessor(
        pad_mask=True,
        boxtype2tensor=False,
        batch_augments=[dict(type='BatchDownscale', ratio=0.4, enabled=True)])
    out = pre(_batch(), training=True)
    boxes = out['data_samples'][0].gt_instances.bboxes
    assert isinstance(boxes, HorizontalBoxes)
    torch.testing.assert_close(boxes.tensor,
                               torch.tensor([[24., 16., 40., 32.]]))


def test_unpadded_masks_are_refused():
    init_default_scope('mmsolo')
    pre = DetDataPreprocessor(
        pad_mask=False,
        pad_size_divisor=32,
        batch_augments=[dict(type='BatchDownscale', ratio=0.6, enabled=True)])
    with pytest.raises(ValueError, match='pad_mask=True'):
        pre(_batch(), training=True)


@pytest.mark.parametrize(
    'kwargs',
    [dict(ratio=0.),
     dict(ratio=1.5),
     dict(ratio=0.5, size_divisor=0)])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        BatchDownscale(**kwargs)

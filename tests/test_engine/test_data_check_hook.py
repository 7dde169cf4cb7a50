# Copyright (c) mmsolo contributors. All rights reserved.
"""DataCheckHook's reading of the number of classes a model predicts."""
import torch.nn as nn

from mmsolo.engine.hooks.data_check_hook import model_num_classes


class Head(nn.Module):

    def __init__(self, num_classes):
        super().__init__()
        self.num_classes = num_classes


def test_solo_mask_head():
    model = nn.Module()
    model.mask_head = Head(4)
    assert model_num_classes(model) == 4


def test_two_stage_reads_the_roi_head_not_the_rpn():
    model = nn.Module()
    model.rpn_head = Head(1)  # registered first: "object" vs background
    model.roi_head = nn.Module()
    model.roi_head.bbox_head = Head(80)
    model.roi_head.mask_head = Head(80)
    assert model_num_classes(model) == 80
    del model.roi_head.mask_head
    assert model_num_classes(model) == 80


def test_other_models_and_none():
    model = nn.Sequential(Head(1), Head(20))
    assert model_num_classes(model) == 20
    assert model_num_classes(nn.Linear(2, 2)) is None

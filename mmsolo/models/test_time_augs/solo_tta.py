# Copyright (c) mmsolo contributors. All rights reserved.
"""Flip test-time augmentation for SOLO models.

The padded batch is also run flipped each way; the head's category and
mask outputs of every view are mapped back (mirrored cells exchanged, maps
flipped back: the mask branch's :meth:`flip`) and combined (the branch's
:meth:`merge_views`, the mean logits) before one post-processing, so the
views' predictions meet in one NMS. mmdet's ``DetTTAModel`` merges boxes
after NMS and rejects instance masks.

:class:`SOLOTTAModel` is the OpenMMLab way to ask for it: ``tta_model =
dict(type='SOLOTTAModel')`` in a config, used by ``tools/test.py --tta``.
A SOLO detector whose ``test_cfg.tta_flips`` lists flips does the same in
its own ``predict`` (and the ONNX export inside its graph).
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch.nn as nn
from mmdet.structures import SampleList
from mmdet.utils import InstanceList
from mmengine.model import BaseTTAModel
from torch import Tensor

from mmsolo.registry import MODELS
from ..layers.traceable import flip
from ..mask_branches import FLIP_DIMS


def check_flips(flips: Sequence[str]) -> Tuple[str, ...]:
    """Validate a list of flips (distinct keys of :data:`FLIP_DIMS`)."""
    flips = tuple(flips or ())
    bad = [d for d in flips if d not in FLIP_DIMS]
    if bad or len(set(flips)) != len(flips):
        raise ValueError('tta_flips must list distinct flips out of '
                         f'{tuple(FLIP_DIMS)}, got {flips}')
    return flips


def flip_outputs(head: nn.Module, mlvl_mask_outs: List[tuple],
                 mlvl_cls_preds: List[Tensor], direction: str) -> tuple:
    """Map a SOLO head's outputs of a flipped input back.

    The grids cover the padded input, so flipping the padded batch maps
    cell (i, j) to (i, S - 1 - j) (horizontal) or (S - 1 - i, j)
    (vertical) exactly.

    Args:
        head (nn.Module): The SOLO head.
        mlvl_mask_outs (list[tuple[Tensor]]): Mask outputs per level (in
            the branch's ``full_outputs`` context).
        mlvl_cls_preds (list[Tensor]): Category logits per level.
        direction (str): The flip of the input (a key of ``FLIP_DIMS``).

    Returns:
        tuple: ``(mlvl_mask_outs, mlvl_cls_preds)`` as for the input before
        the flip.
    """
    mask_outs = [
        head.mask_branch.flip(outs, level, direction)
        for level, outs in enumerate(mlvl_mask_outs)
    ]
    dims = FLIP_DIMS[direction]
    return mask_outs, [flip(p, dims) for p in mlvl_cls_preds]


def merge_flip_views(head: nn.Module, mlvl_feats: Sequence[Sequence[Tensor]],
                     directions: Sequence[str]) -> tuple:
    """A SOLO head's outputs combined over an input and its flipped copies.

    Call it, and post-process its result, inside the mask branch's
    ``full_outputs()`` context.

    Args:
        head (nn.Module): The SOLO head.
        mlvl_feats (Sequence[Sequence[Tensor]]): Neck outputs of the input,
            then of the input flipped in each of ``directions``.
        directions (Sequence[str]): The flips, one per extra view.

    Returns:
        tuple: ``(mlvl_mask_outs, mlvl_cls_preds)``: the mean category
        logits, and mask outputs whose masks are the views' mean logits.
    """
    if len(mlvl_feats) != len(directions) + 1:
        raise ValueError(f'{len(mlvl_feats)} views of the features for '
                         f'{len(directions)} flips')
    views = [head(mlvl_feats[0])]
    for feats, direction in zip(mlvl_feats[1:], directions):
        views.append(flip_outputs(head, *head(feats), direction))
    num = len(views)
    mask_outs = head.mask_branch.merge_views([v[0] for v in views])
    cls_preds = [sum(parts) / num for parts in zip(*(v[1] for v in views))]
    return mask_outs, cls_preds


def flip_views_feats(model: nn.Module, batch_inputs: Tensor,
                     directions: Sequence[str]) -> List[tuple]:
    """Neck outputs of the batch and of its flips."""
    return [model.extract_feat(batch_inputs)] + [
        model.extract_feat(flip(batch_inputs, FLIP_DIMS[d]))
        for d in directions
    ]


def predict_flip_tta(model: nn.Module,
                     batch_inputs: Tensor,
                     batch_data_samples: SampleList,
                     directions: Sequence[str],
                     rescale: bool = True) -> SampleList:
    """A SOLO detector's predictions with flip test-time augmentation.

    Args:
        model (nn.Module): The SOLO detector.
        batch_inputs (Tensor): Pre-processed inputs, (N, C, H, W).
        batch_data_samples (list[DetDataSample]): With the images' meta.
        directions (Sequence[str]): The flips of the input.
        rescale (bool): Return masks at the original image size.

    Returns:
        list[DetDataSample]: The samples with ``pred_instances``.
    """
    head = model.mask_head
    batch_img_metas = [s.metainfo for s in batch_data_samples]
    with head.mask_branch.full_outputs():
        outs = merge_flip_views(
            head, flip_views_feats(model, batch_inputs, directions),
            directions)
        results: InstanceList = head.predict_by_feat(
            *outs, batch_img_metas=batch_img_metas, rescale=rescale)
    return model.add_pred_to_datasample(batch_data_samples, results)


@MODELS.register_module()
class SOLOTTAModel(BaseTTAModel):
    """Flip test-time augmentation of a SOLO detector.

    Unlike mmengine's TTA models it reads the ordinary test batch (no
    ``TestTimeAug`` pipeline): the flips are made of the padded batch and
    merged before the post-processing (see the module docstring).

    Args:
        module (dict or nn.Module): The SOLO detector.
        tta_flips (Sequence[str], optional): The flips (``'horizontal'``,
            ``'vertical'``, ``'diagonal'``). None: the detector's
            ``test_cfg.tta_flips`` if it lists any, else horizontal.
        data_preprocessor (dict or nn.Module, optional): See
            :class:`~mmengine.model.BaseTTAModel`.
    """
    #: reads the test pipeline as it is (no ``tta_pipeline``)
    plain_test_pipeline = True

    def __init__(self,
                 module: Union[dict, nn.Module],
                 tta_flips: Optional[Sequence[str]] = None,
                 data_preprocessor: Union[dict, nn.Module, None] = None):
        super().__init__(module, data_preprocessor)
        if tta_flips is None:
            tta_flips = self.module.mask_head.test_cfg.get('tta_flips') or (
                'horizontal', )
        self.tta_flips = check_flips(tta_flips)
        if not self.tta_flips:
            raise ValueError('SOLOTTAModel needs at least one flip')

    def merge_preds(self, data_samples_list: List[SampleList]) -> SampleList:
        """Not used: the views are merged before the post-processing.

        Raises:
            TypeError: Always; use the test pipeline without
                ``TestTimeAug``.
        """
        raise TypeError('SOLOTTAModel merges the flipped views before the '
                        'post-processing; use the plain test pipeline, '
                        'not TestTimeAug')

    def test_step(self, data: dict) -> SampleList:
        """Predictions of a test batch (the ordinary pipeline's)."""
        data = self.module.data_preprocessor(data, False)
        return self.predict(data['inputs'], data['data_samples'])

    val_step = test_step

    def predict(self,
                batch_inputs: Tensor,
                batch_data_samples: SampleList,
                rescale: bool = True) -> SampleList:
        """See :func:`predict_flip_tta`."""
        return predict_flip_tta(self.module, batch_inputs, batch_data_samples,
                                self.tta_flips, rescale)

    def forward(self,
                inputs: Tensor,
                data_samples: Optional[SampleList] = None,
                mode: str = 'predict') -> SampleList:
        """Only ``mode='predict'``: a TTA model does not train."""
        if mode != 'predict':
            raise ValueError(f'SOLOTTAModel only predicts, got mode={mode!r}')
        return self.predict(inputs, data_samples)

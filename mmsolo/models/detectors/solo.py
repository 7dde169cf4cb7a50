# Copyright (c) mmsolo contributors. All rights reserved.
"""The SOLO detector: backbone -> FPN -> SOLO head."""
from typing import Tuple

from mmdet.models.detectors.single_stage_instance_seg import \
    SingleStageInstanceSegmentor
from mmdet.structures import SampleList
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from torch import Tensor

from mmsolo.registry import MODELS
from ..layers.memory_format import convert_to_channels_last, to_channels_last
from ..test_time_augs import predict_flip_tta


@MODELS.register_module()
class SOLO(SingleStageInstanceSegmentor):
    """`SOLO: Segmenting Objects by Locations
    <https://arxiv.org/abs/1912.04488>`_.

    A thin wrapper over mmdet's single-stage instance segmentor data flow:
    all SOLO logic lives in the mask head.

    Args:
        backbone (dict): Backbone config.
        neck (dict, optional): Neck config.
        bbox_head (dict, optional): Unused by SOLO; kept for API
            compatibility.
        mask_head (dict, optional): SOLO head config.
        train_cfg (dict, optional): Training config.
        test_cfg (dict, optional): Testing config.
        data_preprocessor (dict, optional): Data pre-processor config.
        init_cfg (dict or list[dict], optional): Initialisation config.
        channels_last (bool): Run the network on channels-last (NHWC)
            tensors: every conv weight is stored channels last and the
            input batch is converted before the backbone. Same results up to
            float rounding; about 15-20 % faster on CPUs (oneDNN). Defaults
            to False.
    """

    def __init__(self,
                 backbone: ConfigType,
                 neck: OptConfigType = None,
                 bbox_head: OptConfigType = None,
                 mask_head: OptConfigType = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None,
                 channels_last: bool = False) -> None:
        super().__init__(
            backbone=backbone,
            neck=neck,
            bbox_head=bbox_head,
            mask_head=mask_head,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.channels_last = channels_last
        if channels_last:
            convert_to_channels_last(self)

    def extract_feat(self, batch_inputs: Tensor) -> Tuple[Tensor]:
        """Backbone and neck features of ``batch_inputs`` (N, C, H, W)."""
        if self.channels_last:
            batch_inputs = to_channels_last(batch_inputs)
        return super().extract_feat(batch_inputs)

    def predict(self,
                batch_inputs: Tensor,
                batch_data_samples: SampleList,
                rescale: bool = True,
                **kwargs) -> SampleList:
        """Predict instances, with flip test-time augmentation if asked.

        With ``test_cfg.tta_flips`` (e.g. ``['horizontal']``) the padded
        batch is also run flipped each way, and the head's category and mask
        logits of all the views, flipped back, are averaged before the
        post-processing (one Matrix NMS over the merged predictions; see
        :mod:`mmsolo.models.test_time_augs`, whose ``SOLOTTAModel`` does the
        same as a ``tta_model``).

        Args:
            batch_inputs (Tensor): Inputs of shape (N, C, H, W).
            batch_data_samples (list[:obj:`DetDataSample`]): Data samples
                with the images' meta information.
            rescale (bool): Return masks at the original image size.

        Returns:
            list[:obj:`DetDataSample`]: The samples with ``pred_instances``.
        """
        flips = self.mask_head.test_cfg.get('tta_flips', ())
        if not flips:
            return super().predict(
                batch_inputs, batch_data_samples, rescale=rescale, **kwargs)
        return predict_flip_tta(
            self, batch_inputs, batch_data_samples, flips, rescale=rescale)


@MODELS.register_module()
class SOLOv2(SOLO):
    """`SOLOv2: Dynamic and Fast Instance Segmentation
    <https://arxiv.org/abs/2003.10152>`_: :class:`SOLO` with a
    :class:`~mmsolo.models.dense_heads.SOLOv2Head` (mmdet's name, so that
    configs switch by their prefix)."""

# Copyright (c) mmsolo contributors. All rights reserved.
"""The arguments and the data that the analysis tools share.

``tools/analysis_tools/analyze_results.py`` and ``confusion_matrix.py``
both read the predictions that ``tools/test.py CONFIG CKPT --out PRED.pkl``
dumps and compare them with the ground truth of the config's test set;
``gt_mask_oracle.py``, ``vis_mask_activations.py`` and ``tools/test.py``
take a config and a checkpoint.
"""
import argparse
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

import numpy as np

if TYPE_CHECKING:
    from mmengine.dataset import BaseDataset


def prediction_parser(description: str,
                      out_dir_help: str) -> argparse.ArgumentParser:
    """A parser with the arguments of the tools that read predictions.

    Positional ``config`` and ``prediction_path`` (the ``.pkl`` of
    ``tools/test.py --out``), then the required ``--out-dir``.

    Args:
        description (str): The tool's description.
        out_dir_help (str): The help of ``--out-dir``.

    Returns:
        argparse.ArgumentParser: The parser, for the tool's own options.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('config', help='test config file path')
    parser.add_argument(
        'prediction_path', help='predictions of tools/test.py --out (.pkl)')
    parser.add_argument('--out-dir', required=True, help=out_dir_help)
    return parser


def add_model_args(parser: argparse.ArgumentParser,
                   config_help: str = 'config file path') -> None:
    """Add the positional ``config`` and ``checkpoint`` arguments.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
        config_help (str): The help of ``config``.
    """
    parser.add_argument('config', help=config_help)
    parser.add_argument('checkpoint', help='checkpoint file')


def build_test_dataset(config: str,
                       cfg_options: Optional[dict] = None) -> 'BaseDataset':
    """The config's test dataset (annotations loaded, no pipeline run).

    Args:
        config (str): Config file path or ``package::path``.
        cfg_options (dict, optional): Overrides (``--cfg-options``).

    Returns:
        BaseDataset: The dataset (a ``BaseDetDataset`` for detection
        configs).
    """
    from mmengine.registry import init_default_scope

    from mmsolo.registry import DATASETS
    from mmsolo.utils.tool_config import load_any_config
    cfg = load_any_config(config, cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmsolo'))
    dataset_cfg = cfg.test_dataloader.dataset
    dataset_cfg.pipeline = []
    return DATASETS.build(dataset_cfg)


def load_predictions(path: str) -> Dict[int, dict]:
    """Predictions dumped by ``tools/test.py --out``, by image id.

    Args:
        path (str): The ``.pkl`` file.

    Returns:
        dict[int, dict]: ``img_id`` -> ``pred_instances`` as numpy arrays
        (``bboxes``, ``scores``, ``labels``) and RLEs (``masks``).
    """
    from mmengine.fileio import load
    out = {}
    for result in load(path):
        pred = result['pred_instances']
        out[int(result['img_id'])] = dict(
            bboxes=np.asarray(pred['bboxes'], dtype=np.float32).reshape(-1, 4),
            scores=np.asarray(pred['scores'], dtype=np.float32),
            labels=np.asarray(pred['labels'], dtype=np.int64),
            masks=list(pred['masks']))
    return out


def load_test_predictions(config: str,
                          prediction_path: str,
                          cfg_options: Optional[dict] = None
                          ) -> Tuple['BaseDataset', Dict[int, dict]]:
    """The config's test dataset and the predictions saved for it.

    Args:
        config (str): Config file path or ``package::path``.
        prediction_path (str): The ``.pkl`` of ``tools/test.py --out``.
        cfg_options (dict, optional): Overrides (``--cfg-options``).

    Returns:
        tuple[BaseDataset, dict[int, dict]]: What
        :func:`build_test_dataset` and :func:`load_predictions` return.
    """
    dataset = build_test_dataset(config, cfg_options)
    return dataset, load_predictions(prediction_path)


def to_rles(masks: list, height: int, width: int) -> List[dict]:
    """COCO RLEs of polygons, (un)compressed RLEs or binary masks.

    Args:
        masks (list): Per instance: a polygon list, an RLE dict or an
            (H, W) array.
        height (int): Image height.
        width (int): Image width.

    Returns:
        list[dict]: Compressed RLEs.
    """
    from pycocotools import mask as mask_utils
    rles = []
    for mask in masks:
        if isinstance(mask, np.ndarray) or hasattr(mask, 'numpy'):
            mask = np.asfortranarray(np.asarray(mask, dtype=np.uint8))
            rles.append(mask_utils.encode(mask))
        elif isinstance(mask, list):  # polygons
            rles.append(
                mask_utils.merge(mask_utils.frPyObjects(mask, height, width)))
        elif isinstance(mask['counts'], list):  # uncompressed RLE
            rles.append(mask_utils.frPyObjects(mask, height, width))
        else:
            rles.append(mask)
    return rles


def ground_truth(data_info: dict) -> dict:
    """Labels, boxes and mask RLEs of an image's non-ignored instances.

    Args:
        data_info (dict): The dataset's ``get_data_info`` of the image.

    Returns:
        dict: ``bboxes`` (N, 4) float32, ``labels`` (N, ) int64 and
        ``masks`` (N compressed RLEs).
    """
    height, width = data_info['height'], data_info['width']
    instances = [
        i for i in data_info['instances'] if not i.get('ignore_flag', 0)
    ]
    return dict(
        bboxes=np.array([i['bbox'] for i in instances],
                        dtype=np.float32).reshape(-1, 4),
        labels=np.array([i['bbox_label'] for i in instances], dtype=np.int64),
        masks=to_rles([i['mask'] for i in instances], height, width))

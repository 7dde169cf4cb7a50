# Copyright (c) mmsolo contributors. All rights reserved.
"""MMDetection's ``CocoDataset`` with clear errors for bad data.

- ``classes`` that the json's categories lack are rejected when the dataset
  is built, with both lists in the message (mmdet goes on and fails later
  with ``need at least one array to concatenate``, or trains without them).
- An image that cannot be read stops with an error that names the file and
  the dataset index, or, with ``skip_unreadable=True``, is skipped with a
  warning (training only) and counted in :attr:`CocoDataset.num_skipped`,
  which :class:`mmsolo.engine.hooks.DataCheckHook` logs.
"""
import os.path as osp
from typing import List, Optional

import mmcv
import torch
from mmdet.datasets import CocoDataset as MMDetCocoDataset
from mmdet.datasets.api_wrappers import COCO
from mmengine import fileio
from mmengine.logging import print_log

from mmsolo.registry import DATASETS


class DatasetConfigError(ValueError):
    """A dataset that does not fit its config or the model."""


class UnreadableImageError(RuntimeError):
    """An image of the dataset that cannot be read."""


def unreadable_reason(path: str,
                      backend_args: Optional[dict] = None) -> Optional[str]:
    """Why an image file cannot be read, or None when it can.

    Args:
        path (str): The image path.
        backend_args (dict, optional): mmengine file backend arguments.

    Returns:
        str | None: The reason, e.g. ``'file not found'``.
    """
    try:
        data = fileio.get(path, backend_args=backend_args)
    except FileNotFoundError:
        return 'file not found'
    except Exception as e:  # noqa: B902 (any backend error)
        return f'cannot open the file ({type(e).__name__}: {e})'
    if not data:
        return 'the file is empty'
    try:
        img = mmcv.imfrombytes(data, flag='unchanged')
    except Exception as e:  # noqa: B902
        img, error = None, f' ({type(e).__name__}: {e})'
    else:
        error = ''
    if img is None:
        return f'not a decodable image (corrupt or unsupported){error}'
    return None


class CheckedCOCO(COCO):
    """mmdet's COCO api whose ``get_cat_ids`` rejects unknown class names."""

    def get_cat_ids(self, cat_names=[], sup_names=[], cat_ids=[]):
        """As in mmdet, but every name of ``cat_names`` must exist.

        Raises:
            DatasetConfigError: Naming the missing classes, the classes
                asked for and the json's categories.
        """
        names = [cat['name'] for cat in self.dataset.get('categories', [])]
        missing = [n for n in cat_names if n not in names]
        if missing:
            raise DatasetConfigError(
                f'classes {list(missing)} of the config are not categories '
                'of the annotation file.\n'
                f'  config classes (metainfo.classes): {list(cat_names)}\n'
                f'  json categories:                  {names}\n'
                'Set `metainfo=dict(classes=(...))` of the dataset to '
                'category names of the json (spelling and case matter).')
        return super().get_cat_ids(cat_names, sup_names, cat_ids)


@DATASETS.register_module()
class CocoDataset(MMDetCocoDataset):
    """``mmdet.CocoDataset`` that checks its classes and its images.

    Args:
        *args: Passed to :class:`mmdet.datasets.CocoDataset`.
        skip_unreadable (bool): In training, skip an image that cannot be
            read (missing, empty, corrupt) with a warning, and train on
            another one, instead of stopping. Defaults to False. Test-mode
            datasets always stop: every image must be evaluated.
        **kwargs: Passed to :class:`mmdet.datasets.CocoDataset`.
    """

    COCOAPI = CheckedCOCO

    def __init__(self, *args, skip_unreadable: bool = False, **kwargs):
        self.skip_unreadable = skip_unreadable
        # shared with the data-loading worker processes
        self._num_skipped = torch.zeros(1, dtype=torch.long).share_memory_()
        super().__init__(*args, **kwargs)

    @property
    def num_skipped(self) -> int:
        """How many times an unreadable image was skipped so far."""
        return int(self._num_skipped.item())

    def load_data_list(self) -> List[dict]:
        """Load the annotations; name the file when its classes are wrong."""
        try:
            return super().load_data_list()
        except DatasetConfigError as e:
            raise DatasetConfigError(f'{self.ann_file}: {e}') from None

    def prepare_data(self, idx: int):
        """Run the pipeline; explain (or skip) an unreadable image.

        Args:
            idx (int): The dataset index.

        Returns:
            dict | None: The pipeline's output; None for a skipped image.
        """
        try:
            return super().prepare_data(idx)
        except Exception as error:  # noqa: B902
            path = self.get_data_info(idx).get('img_path')
            reason = unreadable_reason(path, self.backend_args) \
                if path else None
            if reason is None:
                raise  # not the image's fault
            if self.skip_unreadable and not self.test_mode:
                self._num_skipped += 1
                print_log(
                    f'Skipped image {path} (dataset index {idx}): {reason}. '
                    f'Unreadable images skipped so far: {self.num_skipped}.',
                    logger='current',
                    level=30)
                return None  # the base class fetches another index
            hint = '' if self.test_mode else (
                ' To train on without it, set `skip_unreadable=True` in the '
                'dataset config.')
            raise UnreadableImageError(
                f'Cannot read image {path} (dataset index {idx} of '
                f'{osp.basename(str(self.ann_file))}): {reason}.{hint}'
            ) from error

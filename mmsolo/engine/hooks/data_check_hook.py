# Copyright (c) mmsolo contributors. All rights reserved.
"""Check that the dataset fits the model before the first iteration, and
log the images that the dataset skipped as unreadable."""
from typing import Iterator, List, Optional, Sequence

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from mmsolo.datasets.coco import DatasetConfigError
from mmsolo.registry import HOOKS


def model_num_classes(model) -> Optional[int]:
    """The number of classes the model predicts, None if unknown.

    That of the SOLO ``mask_head``; of a two-stage model's ``roi_head``
    (its mask or box head: the RPN head's single class is "object");
    else the largest ``num_classes`` of its modules.
    """
    model = model.module if is_model_wrapper(model) else model
    roi_head = getattr(model, 'roi_head', None)
    heads = [getattr(model, 'mask_head', None)]
    heads += [
        getattr(roi_head, name, None) for name in ('mask_head', 'bbox_head')
    ]
    for head in heads:
        if isinstance(getattr(head, 'num_classes', None), int):
            return head.num_classes
    found = [
        m.num_classes for m in model.modules()
        if isinstance(getattr(m, 'num_classes', None), int)
    ]
    return max(found) if found else None


def leaf_datasets(dataset) -> Iterator:
    """The datasets inside dataset wrappers (Concat, Repeat, ...)."""
    inner = getattr(dataset, 'datasets', None)
    if inner is None and hasattr(dataset, 'dataset'):
        inner = [dataset.dataset]
    if inner is None:
        yield dataset
        return
    for d in inner:
        yield from leaf_datasets(d)


def check_classes(classes: Sequence[str], num_classes: int,
                  which: str) -> None:
    """Reject a dataset with more classes than the model predicts.

    Args:
        classes (Sequence[str]): The dataset's classes.
        num_classes (int): The model's number of classes.
        which (str): Which dataloader, for the message.

    Raises:
        DatasetConfigError: With the dataset's classes and the ones the
            model can predict.
    """
    if len(classes) <= num_classes:
        return
    raise DatasetConfigError(
        f'The {which} dataset has {len(classes)} classes but the model '
        f'predicts {num_classes} (model.mask_head.num_classes): the '
        f'instances of {list(classes[num_classes:])} would silently be '
        'trained as background.\n'
        f'  dataset classes: {list(classes)}\n'
        f'  model classes:   {list(classes[:num_classes])}\n'
        f'Set model.mask_head.num_classes={len(classes)} (or the dataset\'s '
        '`metainfo.classes` to the classes to train).')


@HOOKS.register_module()
class DataCheckHook(Hook):
    """Reject a dataset whose classes do not fit the model, and log skips.

    Before training (and testing) it compares the dataset's
    ``metainfo['classes']`` with the model's ``num_classes``, so that a
    mismatch stops the run before the first iteration. While training it
    logs how many unreadable images the datasets skipped (see
    ``skip_unreadable`` of :class:`mmsolo.datasets.CocoDataset`).
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._skipped = 0
        self._datasets: List = []

    def _check(self, runner, dataloader, which: str) -> None:
        num_classes = model_num_classes(runner.model)
        classes = dataloader.dataset.metainfo.get('classes')
        if num_classes is not None and classes:
            check_classes(tuple(classes), num_classes, which)

    def before_train(self, runner) -> None:
        """Check the training data; find the datasets that may skip."""
        self._check(runner, runner.train_dataloader, 'training')
        self._datasets = [
            d for d in leaf_datasets(runner.train_dataloader.dataset)
            if hasattr(d, 'num_skipped')
        ]

    def before_test(self, runner) -> None:
        """Check the test data."""
        self._check(runner, runner.test_dataloader, 'test')

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        """Log the number of skipped images when it grows."""
        skipped = sum(d.num_skipped for d in self._datasets)
        if skipped > self._skipped:
            self._skipped = skipped
            print_log(
                f'{skipped} unreadable image(s) skipped so far '
                f'(iteration {runner.iter + 1}).',
                logger='current',
                level=30)

    def after_train(self, runner) -> None:
        """Sum up the skipped images."""
        if self._skipped:
            print_log(
                f'Training skipped {self._skipped} unreadable image(s).',
                logger='current',
                level=30)

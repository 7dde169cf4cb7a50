# Copyright (c) mmsolo contributors. All rights reserved.
"""Shared pytest fixtures."""
import pytest

#: Arguments of the tiny shapes set shared by the tests.
TINY_SHAPES_KWARGS = dict(num_train=8, num_val=4, seed=0, img_size=(128, 128))


@pytest.fixture(scope='session')
def shapes_data_root(tmp_path_factory) -> str:
    """A tiny shapes set (8 train / 4 val images of 128x128), generated once.

    The folder holds ``train.json``, ``val.json``, ``train/`` and ``val/``
    (COCO format, classes ``mmsolo.datasets.shapes.SHAPES_CLASSES``). Treat
    it as read-only: it is shared by the whole test session.

    Returns:
        str: The data root.
    """
    from mmsolo.datasets.shapes import make_shapes_dataset
    root = tmp_path_factory.mktemp('shapes_data')
    make_shapes_dataset(str(root), progress=False, **TINY_SHAPES_KWARGS)
    return str(root)

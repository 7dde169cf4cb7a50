# Copyright (c) mmsolo contributors. All rights reserved.
"""``register_all_modules``, as every OpenMMLab package has it."""
from mmengine.registry import init_default_scope as _init_default_scope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every mmsolo module that registers something.

    mmengine calls ``<package>.utils.register_all_modules`` for registries
    of the packages it knows (``MODULE2PACKAGE``) that list no import
    locations; users call it as they would mmdet's.

    Args:
        init_default_scope (bool): Also make ``'mmsolo'`` the default
            scope (a new scope instance if another scope is current).
    """
    import mmsolo.datasets  # noqa: F401
    import mmsolo.engine  # noqa: F401
    import mmsolo.models  # noqa: F401
    if init_default_scope:
        _init_default_scope('mmsolo')

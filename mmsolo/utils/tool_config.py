# Copyright (c) mmsolo contributors. All rights reserved.
"""The command-line options, config loading and runner the tools share."""
import argparse
import importlib.util
import os
import os.path as osp
from typing import TYPE_CHECKING, Optional, Sequence

from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

if TYPE_CHECKING:
    from mmengine.runner import Runner

#: The first sentence of ``--cfg-options``' help (the analysis tools').
CFG_OPTIONS_HELP_BRIEF = (
    'override some settings in the used config, the key-value pair in '
    'xxx=yyy format will be merged into config file.')
#: ``--cfg-options``' help as mmdet's tools give it.
CFG_OPTIONS_HELP = CFG_OPTIONS_HELP_BRIEF + (
    ' If the value to be overwritten is a list, it should be like '
    'key="[a,b]" or key=a,b It also allows nested list/tuple values, e.g. '
    'key="[(a,b),(c,d)]" Note that the quotation marks are necessary and '
    'that no white space is allowed.')


def add_cfg_options_arg(parser: argparse.ArgumentParser,
                        help: Optional[str] = None) -> None:
    """Add mmdet's ``--cfg-options key=value ...`` option to ``parser``.

    The values are parsed by mmengine's ``DictAction`` into a dict (``None``
    when the option is not given), for :func:`load_tool_config` and
    :func:`load_any_config`.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
        help (str, optional): The option's help; default:
            :data:`CFG_OPTIONS_HELP`.
    """
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help=CFG_OPTIONS_HELP if help is None else help)


def add_launcher_arg(parser: argparse.ArgumentParser) -> None:
    """Add mmdet's ``--launcher`` option (the job launcher).

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
    """
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')


def parse_launcher_args(
        parser: argparse.ArgumentParser,
        argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Add ``--local-rank``, parse the command line and export LOCAL_RANK.

    PyTorch's ``torch.distributed.launch`` passes ``--local-rank`` (before
    2.0: ``--local_rank``); both are accepted, and ``LOCAL_RANK`` is set
    from it unless the environment already has it.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
        argv (Sequence[str], optional): Command line (default:
            ``sys.argv``).

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def build_runner(cfg: Config) -> 'Runner':
    """mmengine's runner of a config (``runner_type`` if it names one).

    Args:
        cfg (Config): The loaded config.

    Returns:
        Runner: The runner.
    """
    if 'runner_type' not in cfg:
        from mmengine.runner import Runner
        return Runner.from_cfg(cfg)
    from mmsolo.registry import RUNNERS
    return RUNNERS.build(cfg)


def load_tool_config(config: str,
                     cfg_options: Optional[dict] = None,
                     launcher: str = 'none',
                     work_dir: Optional[str] = None) -> Config:
    """Load a config as mmdet's tools do.

    Reads the file, applies ``--cfg-options``, records the launcher, sets the
    default scope and picks the work dir: the command line's, else the
    config's, else ``./work_dirs/<config name>``.

    Args:
        config (str): Path of the config file.
        cfg_options (dict, optional): Overrides from ``--cfg-options``.
        launcher (str): The job launcher.
        work_dir (str, optional): ``--work-dir``.

    Returns:
        Config: The loaded config.
    """
    cfg = Config.fromfile(config)
    cfg.launcher = launcher
    if cfg_options is not None:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmsolo'))
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config))[0])
    return cfg


def load_any_config(config: str, cfg_options: Optional[dict] = None) -> Config:
    """Load a config file or a ``package::path`` config.

    ``package::path.py`` (``mmsolo::solo/solo_r50_fpn_1x_coco.py``,
    ``mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py``) is the file under
    the installed package's ``.mim/configs``, as for ``_base_`` entries;
    other names (``package::model name``) go to mmengine's ``get_config``,
    which looks them up in the package's ``model-index.yml``.

    Args:
        config (str): A path or ``package::path``.
        cfg_options (dict, optional): Overrides from ``--cfg-options``.

    Returns:
        Config: The config (the default scope is left alone).
    """
    if '::' in config and config.endswith('.py'):
        package, path = config.split('::', 1)
        cfg_file = osp.join(package_path(package), '.mim', 'configs', path)
        if not osp.isfile(cfg_file):
            raise FileNotFoundError(f'{config}: no {cfg_file}')
        cfg = Config.fromfile(cfg_file)
    elif '::' in config:
        from mmengine.hub import get_config
        cfg = get_config(config)
    else:
        cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def package_path(package: str) -> str:
    """The folder of an installed (or importable) Python package.

    mmengine's ``get_installed_path`` needs ``pkg_resources``, which
    setuptools>=81 no longer ships; this asks the import system instead.

    Args:
        package (str): Module name, e.g. ``'mmdet'``.

    Returns:
        str: The package's folder.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f'{package} is not installed')
    return osp.dirname(spec.origin)


def register_config_prefix() -> None:
    """Let mmengine resolve ``mmsolo::`` configs.

    mmengine 0.10 resolves ``package::path`` (``_base_ = 'mmsolo::...'``,
    ``mmengine.hub.get_config``) only for the packages in its
    ``MODULE2PACKAGE`` table; this adds mmsolo (module and pip package
    ``mmsolo``), whose configs live in ``mmsolo/.mim/configs``.
    """
    from mmengine.config.utils import MODULE2PACKAGE
    MODULE2PACKAGE.setdefault('mmsolo', 'mmsolo')
    # An editable install (PEP 660) keeps mmsolo's metadata in site-packages
    # and its code in the checkout, so mmengine's get_installed_path (the
    # metadata's folder + the name) names a folder that does not exist:
    # resolve mmsolo through the import system in the two modules that ask.
    import mmengine.config.config as config_module
    import mmengine.hub.hub as hub_module
    for module in (config_module, hub_module):
        original = module.get_installed_path
        if getattr(original, 'resolves_mmsolo', False):
            continue

        def resolve(package: str, _original=original) -> str:
            if package == 'mmsolo':
                return package_path('mmsolo')
            return _original(package)

        resolve.resolves_mmsolo = True
        module.get_installed_path = resolve

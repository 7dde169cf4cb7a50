# Copyright (c) mmsolo contributors. All rights reserved.
"""Distributed training and testing on machines without CUDA.

MMEngine 0.10.x cannot run a distributed job on CPU as shipped:
``mmengine.dist.init_dist`` calls ``torch.cuda.set_device`` before creating
the process group, and ``Runner.wrap_model`` passes
``device_ids=[LOCAL_RANK]`` to ``DistributedDataParallel``, which PyTorch
rejects for modules on the CPU.

:func:`setup_cpu_distributed` works around both without touching the
installed packages. Called by ``tools/train.py`` and ``tools/test.py`` before
the :class:`~mmengine.runner.Runner` is built, it

1. creates the ``gloo`` process group itself (from the launcher's
   environment variables), so that ``Runner.setup_env`` finds it initialised
   and skips ``init_dist``;
2. sets ``cfg.env_cfg.dist_cfg.backend = 'gloo'`` so that the config and the
   logs say what was used;
3. makes ``Runner.wrap_model`` build a DDP wrapper without ``device_ids``:
   by default :class:`~mmsolo.engine.MMSoloDistributedDataParallel`.

When the job is done, :func:`teardown_cpu_distributed` waits for every rank
and destroys the process group: a rank that exits while its gloo group is
alive can abort in C++ teardown (``terminate called without an active
exception``), which fails the whole torchrun job.

With CUDA (or another accelerator MMEngine knows) or with
``launcher='none'`` it does nothing, so GPU jobs behave exactly as in
MMEngine.
"""
import datetime
import os
import subprocess
from typing import Dict, Optional, Tuple

import torch
import torch.distributed as torch_dist
from mmengine.config import Config, ConfigDict
from mmengine.device import get_device
from mmengine.logging import print_log

CPU_BACKEND = 'gloo'
DEFAULT_WRAPPER = 'mmsolo.MMSoloDistributedDataParallel'
LAUNCHERS = ('pytorch', 'slurm', 'mpi')


def _require_env(names: Tuple[str, ...], launcher: str) -> Dict[str, str]:
    """Read environment variables that a launcher must have set."""
    missing = [n for n in names if n not in os.environ]
    if missing:
        raise RuntimeError(
            f'launcher={launcher!r} needs the environment variables '
            f'{", ".join(missing)}, which are not set. Start distributed '
            'jobs with tools/dist_train.sh / tools/dist_test.sh (torchrun), '
            'tools/slurm_train.sh / tools/slurm_test.sh (srun) or mpirun, or '
            'pass --launcher none for a single process.')
    return {n: os.environ[n] for n in names}


def _rank_and_world_size(launcher: str,
                         port: Optional[int] = None) -> Tuple[int, int]:
    """Fill in the env:// variables for ``launcher``; return rank and size.

    Mirrors what ``mmengine.dist.init_dist`` does for each launcher, minus
    the ``torch.cuda.set_device`` call.
    """
    if launcher == 'pytorch':
        env = _require_env(
            ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'), launcher)
        return int(env['RANK']), int(env['WORLD_SIZE'])
    if launcher == 'slurm':
        env = _require_env(('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST'),
                           launcher)
        rank, world_size = int(env['SLURM_PROCID']), int(env['SLURM_NTASKS'])
        if port is not None:
            os.environ['MASTER_PORT'] = str(port)
        os.environ.setdefault('MASTER_PORT', '29500')
        if 'MASTER_ADDR' not in os.environ:
            os.environ['MASTER_ADDR'] = subprocess.getoutput(
                f'scontrol show hostname {env["SLURM_NODELIST"]} | head -n1')
        os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', '0')
    elif launcher == 'mpi':
        env = _require_env(('OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_SIZE',
                            'OMPI_COMM_WORLD_LOCAL_RANK', 'MASTER_ADDR'),
                           launcher)
        rank = int(env['OMPI_COMM_WORLD_RANK'])
        world_size = int(env['OMPI_COMM_WORLD_SIZE'])
        os.environ.setdefault('MASTER_PORT', '29500')
        os.environ['LOCAL_RANK'] = env['OMPI_COMM_WORLD_LOCAL_RANK']
    else:
        raise ValueError(f'Invalid launcher {launcher!r}; expected one of '
                         f'{("none", ) + LAUNCHERS}.')
    os.environ['RANK'] = str(rank)
    os.environ['WORLD_SIZE'] = str(world_size)
    return rank, world_size


def _get_wrapper(registry, wrapper_type: str) -> Optional[type]:
    """``registry.get(wrapper_type)``, None when it is not found."""
    try:
        return registry.get(wrapper_type)
    except RuntimeError:  # neither registered nor an importable path
        return None


def _configure_wrapper(cfg: Config) -> None:
    """Make ``Runner.wrap_model`` build a DDP without ``device_ids``."""
    from mmengine.registry import MODEL_WRAPPERS as ROOT_WRAPPERS
    from torch.nn.parallel import DistributedDataParallel

    from mmsolo.registry import MODEL_WRAPPERS
    wrapper_cfg = cfg.get('model_wrapper_cfg', None)
    if wrapper_cfg is None:
        cfg.model_wrapper_cfg = ConfigDict(
            type=DEFAULT_WRAPPER,
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
        return
    # Runner.wrap_model looks the type up in MMEngine's root registry, which
    # does not search child registries for names without a scope.
    wrapper_type = wrapper_cfg.get('type', 'MMDistributedDataParallel')
    wrapper_cls = _get_wrapper(ROOT_WRAPPERS, wrapper_type)
    if wrapper_cls is None and '.' not in wrapper_type and \
            _get_wrapper(MODEL_WRAPPERS, wrapper_type) is not None:
        # Registered in mmsolo only: scope it so the root registry finds it.
        wrapper_type = f'mmsolo.{wrapper_type}'
        wrapper_cls = _get_wrapper(ROOT_WRAPPERS, wrapper_type)
    if wrapper_cls is None:
        raise KeyError(
            f'model_wrapper_cfg.type={wrapper_cfg.get("type")!r} is not a '
            'registered model wrapper (looked in mmengine and mmsolo). For '
            f'CPU distributed jobs use {DEFAULT_WRAPPER!r}.')
    wrapper_cfg.type = wrapper_type
    if isinstance(wrapper_cls, type) and issubclass(wrapper_cls,
                                                    DistributedDataParallel):
        # Runner fills device_ids=[LOCAL_RANK] only when the key is absent.
        wrapper_cfg.setdefault('device_ids', None)


def setup_cpu_distributed(cfg: Config, launcher: str) -> bool:
    """Prepare a distributed run on CPU (``gloo``) before the Runner exists.

    Args:
        cfg (Config): The full config. ``env_cfg.dist_cfg`` and
            ``model_wrapper_cfg`` are updated in place.
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.

    Returns:
        bool: True if a CPU process group is in use, False if nothing was
        done (``launcher='none'`` or an accelerator is available, in which
        case MMEngine initialises the process group as usual).

    Raises:
        RuntimeError: If the launcher's environment variables are missing,
            ``torch.distributed`` is unavailable, or an existing process
            group uses a backend that cannot run on CPU.
        ValueError: If ``launcher`` is unknown.
    """
    if launcher == 'none':
        return False
    if launcher not in LAUNCHERS:
        raise ValueError(f'Invalid launcher {launcher!r}; expected one of '
                         f'{("none", ) + LAUNCHERS}.')
    if get_device() != 'cpu':
        return False
    if not torch_dist.is_available():
        raise RuntimeError(
            'Distributed training was requested (--launcher '
            f'{launcher}) but this PyTorch build has no torch.distributed.')

    env_cfg = cfg.get('env_cfg', None)
    if env_cfg is None:
        cfg.env_cfg = env_cfg = ConfigDict()
    dist_cfg = env_cfg.get('dist_cfg', None)
    if dist_cfg is None:
        env_cfg.dist_cfg = dist_cfg = ConfigDict()
    requested = dist_cfg.get('backend', 'nccl')
    dist_cfg.backend = CPU_BACKEND

    if torch_dist.is_initialized():
        backend = torch_dist.get_backend()
        if backend != CPU_BACKEND:
            raise RuntimeError(
                f'A process group with backend {backend!r} is already '
                f'initialised; CPU training needs {CPU_BACKEND!r}.')
    else:
        rank, world_size = _rank_and_world_size(launcher,
                                                dist_cfg.get('port', None))
        kwargs = {}
        timeout = dist_cfg.get('timeout', None)
        if timeout is not None:
            kwargs['timeout'] = datetime.timedelta(seconds=timeout)
        torch_dist.init_process_group(
            backend=CPU_BACKEND,
            init_method='env://',
            rank=rank,
            world_size=world_size,
            **kwargs)
    _configure_wrapper(cfg)
    note = '' if requested == CPU_BACKEND else \
        f' (config asked for {requested!r}, which needs CUDA)'
    print_log(
        f'CUDA is not available: distributed run on CPU with backend '
        f'{CPU_BACKEND!r}{note}, rank {torch_dist.get_rank()}, world_size '
        f'{torch_dist.get_world_size()}, torch {torch.__version__}.',
        logger='current')
    return True


def teardown_cpu_distributed() -> None:
    """Wait for all ranks, then destroy the gloo process group.

    Call it at the end of a job for which :func:`setup_cpu_distributed`
    returned True. Does nothing if no process group is initialised.
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.barrier()
        torch_dist.destroy_process_group()

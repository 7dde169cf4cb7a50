# Copyright (c) mmsolo contributors. All rights reserved.
"""A DDP wrapper that also runs on CPU (``gloo``)."""
import torch.nn as nn
from mmengine.model import MMDistributedDataParallel

from mmsolo.registry import MODEL_WRAPPERS


def _is_on_cpu(module: nn.Module) -> bool:
    """Whether all parameters and buffers of ``module`` live on the CPU."""
    tensors = list(module.parameters()) + list(module.buffers())
    return all(t.device.type == 'cpu' for t in tensors)


@MODEL_WRAPPERS.register_module()
class MMSoloDistributedDataParallel(MMDistributedDataParallel):
    """:class:`MMDistributedDataParallel` that accepts CPU modules.

    ``mmengine.runner.Runner.wrap_model`` always passes
    ``device_ids=[LOCAL_RANK]``, which ``DistributedDataParallel`` rejects
    when the module is on the CPU. This wrapper drops ``device_ids`` and
    ``output_device`` in that case and is otherwise identical to its parent,
    so on GPUs it behaves exactly like ``MMDistributedDataParallel``.

    Args:
        module (nn.Module): The model to wrap.
        detect_anomalous_params (bool): See
            :class:`mmengine.model.MMDistributedDataParallel`.
            Defaults to False.
        **kwargs: Passed to ``torch.nn.parallel.DistributedDataParallel``.
    """

    def __init__(self,
                 module: nn.Module,
                 detect_anomalous_params: bool = False,
                 **kwargs) -> None:
        if _is_on_cpu(module):
            kwargs['device_ids'] = None
            kwargs['output_device'] = None
        super().__init__(
            module=module,
            detect_anomalous_params=detect_anomalous_params,
            **kwargs)

# Copyright (c) mmsolo contributors. All rights reserved.
"""The mask branch interface and its place in the heads."""
import pytest
import torch

from mmsolo.models.mask_branches import (BaseMaskBranch, DecoupledMaskBranch,
                                         DynamicMaskBranch, LightMaskBranch,
                                         VanillaMaskBranch)
from ..test_dense_heads.test_solo_heads import HEADS, build_head, feats

BRANCHES = dict(
    SOLOHead=VanillaMaskBranch,
    DecoupledSOLOHead=DecoupledMaskBranch,
    DecoupledSOLOLightHead=LightMaskBranch)


def test_the_interface_is_abstract():
    with pytest.raises(TypeError, match='abstract'):
        BaseMaskBranch([4])

    class Incomplete(BaseMaskBranch):

        def _init_layers(self):
            pass

    with pytest.raises(TypeError, match='abstract'):
        Incomplete([4])
    for cls in (*BRANCHES.values(), DynamicMaskBranch):
        assert not cls.__abstractmethods__


@pytest.mark.parametrize('kind', HEADS)
def test_branch_layers_are_the_heads_children(kind):
    head = build_head(kind)
    branch = head.mask_branch
    assert type(branch) is BRANCHES[kind]
    names = dict(head.named_parameters())
    # mmdet's names: no 'mask_branch.' prefix, one copy of each parameter
    assert not any(n.startswith('mask_branch') for n in names)
    for name, param in branch.named_parameters():
        assert names[name] is param
    assert 'mask_branch' not in dict(head.named_children())
    # modes follow the head (gradient checkpointing reads them)
    head.eval()
    assert not branch.training
    assert not any(m.training for m in branch.modules())
    head.train()
    assert branch.training
    # moving the head moves the branch's layers
    head.to(torch.float64)
    assert all(p.dtype == torch.float64 for p in branch.parameters())
    outs, _ = head.float()(feats())
    assert len(outs) == head.num_levels

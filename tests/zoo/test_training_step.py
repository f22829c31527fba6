"""torchvision's classifiers through a training step on the meta device: the torch engine's backward MACs
are FlopCounterMode's backward FLOPs / 2, but for the difference tests/counting/test_training_builtins.py
explains (FlopCounterMode counts a grouped convolution's weight gradient as dense: ``(groups - 1)`` x its
forward MACs more), reconciled exactly; and nothing is left not counted (``strict``)."""

import pytest
import torch

from archlens.counting.torch import profile_module
from archlens.counting.training import TrainingStep

from ..counting.test_training_builtins import grouped_weight_gradient_excess
from .conftest import build

torchvision = pytest.importorskip("torchvision")
pytestmark = pytest.mark.zoo

from torchvision.models import get_model  # noqa: E402

MODELS = ("resnet50", "resnext50_32x4d", "densenet121", "mobilenet_v3_small", "efficientnet_b0", "shufflenet_v2_x1_0",
          "regnet_y_400mf", "convnext_tiny", "vit_b_16", "swin_t", "maxvit_t")
"""Residual, dense, depthwise, grouped, channel-split, attention and window-attention networks."""


@pytest.mark.parametrize("name", MODELS)
def test_backward_macs_are_flop_counter_modes_backward_flops_over_two(name):
    from torch.utils.flop_counter import FlopCounterMode

    shape = (2, 3, 224, 224)
    model = build(lambda: get_model(name, weights=None)).train()
    profile = profile_module(model, shape, train=True, step=TrainingStep(), strict=True)
    model = model.to("meta").train()
    counter = FlopCounterMode(display=False)
    with counter:
        output = model(torch.empty(shape, device="meta"))
        forward = counter.get_total_flops()
        output.backward(torch.ones_like(output))
    assert forward == 2 * profile.totals.macs
    assert counter.get_total_flops() - forward == 2 * (profile.step.backward.macs
                                                        + grouped_weight_gradient_excess(model, profile))

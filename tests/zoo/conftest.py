"""Real model zoos (torchvision, timm, Hugging Face) against PyTorch's FlopCounterMode.

Marked ``zoo`` and skipped unless the zoo's package imports (none is a dependency of archlens):
``pip install torchvision timm transformers`` and run ``python -m pytest -m zoo tests/zoo``. Nothing
downloads weights: every model is built from its code or config, on the meta device where it can be.
"""

import warnings

import pytest
import torch


def pytest_configure(config):
    config.addinivalue_line("markers", "zoo: real model zoos against FlopCounterMode (needs torchvision, timm "
                                       "or transformers)")


def build(factory, device="meta"):
    """The model, built on ``device`` (a constructor that needs values, torchvision's regnet, on the CPU)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with torch.device(device):
                return factory().eval()
        except (NotImplementedError, RuntimeError):
            return factory().eval()


def flop_counter_macs(model, args, kwargs=None):
    """FlopCounterMode's FLOPs / 2 for one forward (on the meta device unless the inputs are real)."""
    from torch.utils.flop_counter import FlopCounterMode

    kwargs = kwargs or {}
    counter = FlopCounterMode(display=False)
    try:
        with counter, torch.no_grad():
            model(*args, **kwargs)
    except AssertionError:  # its module tracker wants autograd on a few models (timm's PiT, CaiT)
        counter = FlopCounterMode(display=False)
        with counter:
            model(*args, **kwargs)
    return counter.get_total_flops() // 2


def unique_parameters(model):
    return sum(param.numel() for param in {id(param): param for param in model.parameters()}.values())


@pytest.fixture
def agree():
    """Profile ``model`` on meta inputs, then check archlens against FlopCounterMode and the parameters."""
    from archlens.counting.torch import profile_module

    def check(model, inputs, *, args=None, kwargs=None):
        profile = profile_module(model, inputs=inputs, strict=True)
        model = model.to("meta")
        assert profile.totals.macs == flop_counter_macs(model, args, kwargs)
        assert profile.totals.params == unique_parameters(model)
        return profile

    return check

"""Real model zoos (torchvision, timm, Hugging Face) against PyTorch's FlopCounterMode, and the
built-in specs against the implementations they reproduce.

Marked ``zoo`` and run in the second environment, where the zoos are installed (none is a dependency
of archlens; README: "Cross-checks against torchvision, timm and transformers"):
``python -m pytest -m zoo tests/zoo``. Where the zoos are not installed (the main environment) these
files are not collected at all, so the main run never skips a test for a missing package. Nothing
downloads weights: every model is built from its code or config, on the meta device where it can be.
"""

import importlib.util
import warnings

import pytest
import torch


ZOOS = ("torchvision", "timm", "transformers")
if any(importlib.util.find_spec(name) is None for name in ZOOS):
    collect_ignore_glob = ["test_*.py"]


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

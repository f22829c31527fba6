"""The builder: module names mirror the spec, meta builds allocate nothing, CPU builds run."""

import pytest
import torch

import archlens


def _input(name: str, device: str, batch: int = 1) -> torch.Tensor:
    spec = archlens.load_spec(name)
    dtype = torch.long if spec.input.kind == "ids" else torch.float32  # token id 0 is in every vocabulary
    return torch.zeros(spec.input.shape(batch), device=device, dtype=dtype)


@pytest.mark.parametrize("train", [False, True])
def test_meta_build_matches_analytic_params_and_runs(builtin, train):
    net = archlens.build(builtin, device="meta", train=train)
    assert all(p.is_meta for p in net.parameters()) and all(b.is_meta for b in net.buffers())
    assert net.training is train
    profile = archlens.profile(builtin, train=train)
    assert sum(p.numel() for p in net.parameters()) == profile.totals.params
    # Training-mode BatchNorm refuses one value per channel (PyTorch's rule): train on a batch of 2.
    batch = 2 if train else 1
    with torch.no_grad():
        out = net(_input(builtin, "meta", batch))
    outputs = out if isinstance(out, tuple) else (out,)
    assert tuple(outputs[0].shape) == archlens.profile(builtin, train=train, batch=batch).rollup(1)[-1].output_shape
    assert all(o.shape == (batch, 1000) for o in outputs[1:])  # the auxiliary classifiers
    aux_heads = sum(group.kind == "aux" for group in profile.groups)  # recorded in training mode only
    assert len(outputs) == 1 + aux_heads


@pytest.mark.parametrize("name", ["googlenet", "googlenet-torchvision", "alexnet", "alexnet-torchvision", "vgg11-bn"])
def test_cpu_build_runs_a_forward_pass_with_published_counts(name):
    torch.manual_seed(0)
    net = archlens.build(name)
    with torch.no_grad():
        out = net(_input(name, "cpu"))
    assert out.shape == (1, 1000) and torch.isfinite(out).all()
    reference = archlens.load_spec(name).metadata.reference
    if reference is not None:
        assert sum(p.numel() for p in net.parameters()) == reference.params


def test_module_names_mirror_the_spec():
    names = {name for name, _ in archlens.build("googlenet", device="meta").named_modules()}
    assert {
        "conv1.conv", "conv1.relu", "pool1", "norm1", "inception_3a", "inception_3a.branch_1x1.conv.conv",
        "inception_3a.branch_3x3.reduce.conv", "inception_3a.branch_3x3.conv.conv",
        "inception_3a.branch_5x5.conv.conv", "inception_3a.branch_pool.pool", "inception_3a.branch_pool.proj.conv",
        "fc", "softmax",
    } <= names
    assert not any(name.startswith("aux") for name in names)
    train_names = {name for name, _ in archlens.build("googlenet", device="meta", train=True).named_modules()}
    assert {"aux1.conv.conv", "aux1.fc1.linear", "aux2.fc2"} <= train_names


def test_naive_inception_passes_pool_channels_through():
    net = archlens.build("googlenet-naive", device="meta")
    module = net.inception_3a
    out = module(torch.zeros(1, 192, 28, 28, device="meta"))
    assert out.shape == (1, 64 + 128 + 32 + 192, 28, 28)
    assert [name for name, _ in module.branch_pool.named_children()] == ["pool"]


def test_torchvision_variant_uses_batchnorm_eps_and_no_conv_bias():
    net = archlens.build("googlenet-torchvision", device="meta")
    assert net.conv1.bn.eps == pytest.approx(0.001)
    assert net.conv1.conv.bias is None
    assert net.inception_3a.branch_5x5.conv.conv.kernel_size == (3, 3)

"""Layer-by-layer comparison of a built-in spec with the implementation it reproduces.

Run in the second environment (torch 2.14.1, torchvision 0.29.1, timm, transformers; README:
"Cross-checks against torchvision"): the implementation named in the spec's
``metadata.reference.implementation`` is built with random weights on the meta device, profiled by
the torch engine, and its layers with weights (convolutions, linear layers) are compared in
execution order with the spec's analytic profile: input and output sizes, parameters, MACs.
Names differ (torchvision's ``layer1.0.downsample.0`` is the spec's ``layer1.0.shortcut.conv``), so
layers are matched by position; element counts rather than shapes, since a channels-last linear
layer (ConvNeXt) is the spec's 1x1 convolution.

    python -m tests.zoo.crosscheck resnet50     # prints the first difference, if any
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from math import prod

WEIGHTED = ("conv", "conv_transpose", "linear")


@dataclass(frozen=True)
class Row:
    name: str
    kind: str
    input_elements: int
    output_elements: int
    params: int
    macs: int

    def key(self) -> tuple[int, int, int, int]:
        return (self.input_elements, self.output_elements, self.params, self.macs)


def weighted_rows(profile) -> list[Row]:
    """The layers with weights (convolutions and linear layers) of a profile, in execution order."""
    return [Row(layer.name, layer.kind, prod(layer.input_shape), prod(layer.output_shape), layer.params, layer.macs)
            for layer in profile.layers if layer.kind in WEIGHTED or layer.kind.startswith("conv")]


def implementation(reference: str):
    """A factory for ``library:name`` (``torchvision:resnet50``) with random weights."""
    library, _, model = reference.partition(":")
    if library == "torchvision":
        import torchvision

        return lambda: _tensor_arithmetic_on_cpu(lambda: torchvision.models.get_model(model, weights=None))
    if library == "timm":
        import timm

        return lambda: timm.create_model(model, pretrained=False)
    raise ValueError(f"no cross-check for {reference!r}")


def _tensor_arithmetic_on_cpu(build):
    """``build()`` (called under ``torch.device("meta")``), with torchvision's RegNet design-space arithmetic
    on the CPU: ``BlockParams.from_init_params`` computes the stage widths with tensors and ``.tolist()``,
    which meta tensors cannot give (the weights are still made on meta)."""
    import torch
    from torchvision.models.regnet import BlockParams

    original = BlockParams.__dict__["from_init_params"]

    def on_cpu(cls, *args, **kwargs):
        with torch.device("cpu"):
            return original.__func__(cls, *args, **kwargs)

    BlockParams.from_init_params = classmethod(on_cpu)
    try:
        return build()
    finally:
        BlockParams.from_init_params = original


@dataclass
class Comparison:
    spec: list[Row]
    implementation: list[Row]
    spec_totals: tuple[int, int]
    implementation_totals: tuple[int, int]

    def first_difference(self) -> str | None:
        for index, (ours, theirs) in enumerate(zip(self.spec, self.implementation)):
            if ours.key() != theirs.key():
                return (f"weighted layer {index}: spec {ours.name} (in {ours.input_elements}, out "
                        f"{ours.output_elements}, params {ours.params}, MACs {ours.macs}) vs implementation "
                        f"{theirs.name} (in {theirs.input_elements}, out {theirs.output_elements}, params "
                        f"{theirs.params}, MACs {theirs.macs})")
        if len(self.spec) != len(self.implementation):
            return f"{len(self.spec)} weighted layers in the spec, {len(self.implementation)} in the implementation"
        if self.spec_totals != self.implementation_totals:
            return f"totals (params, MACs): spec {self.spec_totals}, implementation {self.implementation_totals}"
        return None


def compare(name: str) -> Comparison:
    import archlens
    from archlens.counting.torch_engine import profile_module

    spec = archlens.load_spec(name)
    reference = spec.metadata.reference
    ours = archlens.profile(spec)
    theirs = profile_module(implementation(reference.implementation), ours.input_shape, name=name)
    # parameters of modules that never run at inference (torchvision builds auxiliary heads) are apart
    running = sum(layer.params for layer in theirs.layers if layer.kind != "not called")
    return Comparison(weighted_rows(ours), weighted_rows(theirs), (ours.totals.params, ours.totals.macs),
                      (running, theirs.totals.macs))


if __name__ == "__main__":  # pragma: no cover - a debugging aid
    for target in sys.argv[1:]:
        result = compare(target)
        print(f"{target}: {result.first_difference() or 'identical'} ({len(result.spec)} weighted layers)")

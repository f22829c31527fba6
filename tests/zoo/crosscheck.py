"""Layer-by-layer comparison of a built-in spec with the implementation it reproduces.

Run in the second environment (torch 2.14.1, torchvision 0.29.1, timm, transformers; README:
"Cross-checks against torchvision"): the implementation named in the spec's
``metadata.reference.implementation`` is built with random weights on the meta device, profiled by
the torch engine, and its layers with weights (convolutions, linear layers) are compared in
execution order with the spec's analytic profile: input and output sizes, parameters, MACs.
Names differ (torchvision's ``layer1.0.downsample.0`` is the spec's ``layer1.0.shortcut.conv``), so
layers are matched by position; element counts rather than shapes, since a channels-last linear
layer (ConvNeXt) is the spec's 1x1 convolution.

Attention is one row a block on both sides: implementations split it differently (torchvision's
``nn.MultiheadAttention`` and Swin attention are one module each, their projections read as weights;
MaxViT calls its ``to_qkv`` and ``merge`` linear layers; Hugging Face's BERT has ``query``, ``key``,
``value`` and an output ``dense``), so every record with MACs inside an attention block (an archlens
``attention`` group; an implementation's module of a class in :data:`ATTENTION_CLASSES`) folds into one
row of its output elements, parameters and MACs. Hugging Face models are built from configs
(:data:`HF_CONFIGS`, defaults otherwise) and run on int64 token ids.

    python -m tests.zoo.crosscheck resnet50     # prints the first difference, if any
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from math import prod

WEIGHTED = ("conv", "conv_transpose", "linear")
ATTENTION_CLASSES = {"MultiheadAttention", "ShiftedWindowAttention", "ShiftedWindowAttentionV2",
                     "RelativePositionalMultiHeadAttention", "BertAttention", "GPT2Attention", "LlamaAttention"}
"""Implementation modules that are one attention block (their records fold into one row)."""
HF_CONFIGS = {
    "gpt3-175b": {"n_embd": 12288, "n_layer": 96, "n_head": 96, "n_positions": 2048, "vocab_size": 50257},
    "llama-3-8b": {"hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
                   "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256,
                   "max_position_embeddings": 8192, "rope_theta": 500000.0, "rms_norm_eps": 1e-5,
                   "tie_word_embeddings": False},
}
"""Hugging Face configs of the built-ins that are not a config class's defaults (bert-base, gpt2 are)."""


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


def weighted_rows(profile, scopes=()) -> list[Row]:
    """The layers with weights (convolutions and linear layers) of a profile, in execution order, each
    attention block (records under one of ``scopes``) folded into one row."""
    rows: list[Row] = []
    folded: dict[str, int] = {}
    outputs = {group.name: prod(group.output_shape) for group in profile.groups}
    for layer in profile.layers:
        scope = next((s for s in scopes if layer.name == s or layer.name.startswith(s + ".")), None)
        if scope is not None:
            if not layer.macs:
                continue
            if scope not in folded:
                folded[scope] = len(rows)
                rows.append(Row(scope, "attention", 0, outputs.get(scope, 0), 0, 0))
            row = rows[folded[scope]]
            rows[folded[scope]] = Row(row.name, row.kind, 0, row.output_elements, row.params + layer.params,
                                      row.macs + layer.macs)
        elif layer.kind in WEIGHTED or layer.kind.startswith("conv"):
            rows.append(Row(layer.name, layer.kind, prod(layer.input_shape), prod(layer.output_shape), layer.params,
                            layer.macs))
    return rows


def implementation(reference: str, spec=None):
    """A factory for ``library:name`` (``torchvision:resnet50``) with random weights; ``spec`` gives the
    input size (torchvision's ViTs are built for one) and the Hugging Face config (:data:`HF_CONFIGS`)."""
    library, _, model = reference.partition(":")
    if library == "torchvision":
        import torchvision

        options = {}
        if model.startswith("vit_") and spec is not None:
            options["image_size"] = spec.input.height
        return lambda: _tensor_arithmetic_on_cpu(lambda: torchvision.models.get_model(model, weights=None, **options))
    if library == "timm":
        import timm

        return lambda: timm.create_model(model, pretrained=False)
    if library == "transformers":
        import transformers

        model_class = getattr(transformers, model)
        config = model_class.config_class(**HF_CONFIGS.get(spec.name if spec is not None else "", {}))
        return lambda: model_class(config).eval()
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
    import torch

    import archlens
    from archlens.counting.torch_engine import profile_module
    from archlens.profiler import spec_inputs

    spec = archlens.load_spec(name)
    reference = spec.metadata.reference
    ours = archlens.profile(spec)
    with torch.device("meta"):
        model = implementation(reference.implementation, spec)()
    theirs = profile_module(model, **spec_inputs(spec), name=name)
    their_scopes = [module_name for module_name, module in model.named_modules()
                    if type(module).__name__ in ATTENTION_CLASSES]
    our_scopes = [group.name for group in ours.groups if group.kind == "attention"]
    # parameters of modules that never run at inference (torchvision builds auxiliary heads) are apart
    running = sum(layer.params for layer in theirs.layers if layer.kind != "not called")
    return Comparison(weighted_rows(ours, our_scopes), weighted_rows(theirs, their_scopes),
                      (ours.totals.params, ours.totals.macs), (running, theirs.totals.macs))


if __name__ == "__main__":  # pragma: no cover - a debugging aid
    for target in sys.argv[1:]:
        result = compare(target)
        print(f"{target}: {result.first_difference() or 'identical'} ({len(result.spec)} weighted layers)")

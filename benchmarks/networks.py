"""The networks the benchmark profiles, and the op terms every peer's figure is rebuilt from.

Spec networks (GoogLeNet, AlexNet, VGG-16 and the scale specs) are built with ``archlens.build``;
their terms come from archlens's analytic profile, one term a layer. The attention module is plain
PyTorch with functional ops (``F.relu``, ``+``, ``@``, ``torch.matmul``, ``torch.softmax``,
``F.scaled_dot_product_attention``, ``mean``); its terms are written out below from its shapes with
archlens's own formulas, so the benchmark also checks the torch engine against a hand count.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from archlens.counting import formulas as F

SPEC_DIR = Path(__file__).resolve().parent / "specs"
SPEC_NETWORKS = ("googlenet", "alexnet", "vgg16")
ATTENTION = "attention"


@dataclass(frozen=True)
class Term:
    """One op of a network, as a peer's convention needs to see it.

    ``kind`` is the op as the module or call that runs it: ``conv``, ``linear`` (an ``nn.Linear``),
    ``batchnorm``, ``relu`` (``nn.ReLU``), ``relu_fn`` (``F.relu``), ``maxpool``, ``avgpool``,
    ``adaptive_avgpool``, ``lrn``, ``softmax`` (``nn.Softmax``), ``softmax_fn``
    (``torch.softmax``), ``matmul_op`` (``a @ b``), ``matmul_fn`` (``torch.matmul``), ``sdpa``,
    ``add_op`` (``x + y``), ``mul_op`` (``x * scalar``), ``mean``, or a free op (``concat``,
    ``flatten``, ``dropout``). ``ops`` is archlens's count of it; ``contiguous`` is False for an op
    whose input is a strided view (it changes how ``F.linear`` dispatches).
    """

    kind: str
    ops: F.OpCount
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    params: int = 0
    contiguous: bool = True

    @property
    def e_in(self) -> int:
        return F.numel(self.input_shape)

    @property
    def e_out(self) -> int:
        return F.numel(self.output_shape)

    @property
    def lrn_size(self) -> int:
        """The LRN window, read back from archlens's ``(2 size + 4)`` per element."""
        return (self.ops.norm_ops // self.e_out - 4) // 2


def spec_source(name: str) -> str:
    """A built-in name, or the path of a spec under ``benchmarks/specs`` (``scale/vgg16-w27``)."""
    path = SPEC_DIR / f"{name}.yaml"
    return str(path) if path.exists() else name


def load(name: str):
    """The loaded spec of ``name``."""
    from archlens.spec import load_spec

    return load_spec(spec_source(name))


def input_shape(name: str) -> tuple[int, ...]:
    if name == ATTENTION:
        return ATTENTION_INPUT
    spec = load(name)
    return (1, spec.input.channels, spec.input.height, spec.input.width)


def build(name: str, device: str):
    """The module of ``name`` on ``device`` (``cpu``: real, seeded weights; ``meta``: none)."""
    import torch

    torch.manual_seed(0)
    if name == ATTENTION:
        with torch.device(device):
            return attention_net()
    import archlens

    return archlens.build(load(name), device=device)


def terms(name: str) -> list[Term]:
    """The op terms of ``name``: from the analytic profile for specs, by hand for the attention module."""
    if name == ATTENTION:
        return attention_terms()
    from archlens.counting.analytic import profile_spec

    return [Term(layer.kind, layer.ops, layer.input_shape, layer.output_shape, params=layer.params)
            for layer in profile_spec(load(name)).layers]


# --- a module with functional ops and attention ---

ATTENTION_INPUT = (1, 3, 32, 32)
ATTENTION_DIM, ATTENTION_HEADS = 64, 4


def attention_net():
    """A conv stem, then tokens through SDPA and through an explicit ``softmax(q @ k^T) v``."""
    import torch
    import torch.nn.functional as functional
    from torch import nn

    class AttentionNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, ATTENTION_DIM, kernel_size=4, stride=4)
            self.qkv = nn.Linear(ATTENTION_DIM, 3 * ATTENTION_DIM)
            self.proj = nn.Linear(ATTENTION_DIM, ATTENTION_DIM)
            self.head = nn.Linear(ATTENTION_DIM, 10)
            self.scale = (ATTENTION_DIM // ATTENTION_HEADS) ** -0.5

        def forward(self, x):
            x = functional.relu(self.stem(x))
            tokens = x.flatten(2).transpose(1, 2)                      # (B, L, D)
            batch, length, dim = tokens.shape
            qkv = self.qkv(tokens).reshape(batch, length, 3, ATTENTION_HEADS, dim // ATTENTION_HEADS)
            q, k, v = qkv.permute(2, 0, 3, 1, 4)                       # (B, H, L, d) each
            fused = functional.scaled_dot_product_attention(q, k, v)
            tokens = tokens + self.proj(fused.transpose(1, 2).reshape(batch, length, dim))
            scores = (q @ k.transpose(-2, -1)) * self.scale
            explicit = torch.matmul(torch.softmax(scores, dim=-1), v)
            tokens = tokens + explicit.transpose(1, 2).reshape(batch, length, dim)
            return self.head(tokens.mean(dim=1))

    return AttentionNet().eval()


def attention_terms() -> list[Term]:
    """The attention module's ops, in forward order, counted with archlens's formulas."""
    b, c, h, w = ATTENTION_INPUT
    dim, heads = ATTENTION_DIM, ATTENTION_HEADS
    head_dim = dim // heads
    length = (h // 4) * (w // 4)
    image = (b, dim, h // 4, w // 4)
    tokens = (b, length, dim)
    per_head = (b, heads, length, head_dim)
    scores = (b, heads, length, length)
    return [
        Term("conv", F.conv(image, (dim, c, 4, 4), bias=True), (b, c, h, w), image, params=dim * c * 16 + dim),
        Term("relu_fn", F.relu(F.numel(image)), image, image),
        Term("linear", F.linear(tokens, (3 * dim, dim), bias=True), tokens, (b, length, 3 * dim),
             params=3 * dim * dim + 3 * dim, contiguous=False),   # tokens is a transposed view
        Term("sdpa", F.attention(per_head, per_head, per_head), per_head, per_head),
        Term("linear", F.linear(tokens, (dim, dim), bias=True), tokens, tokens, params=dim * dim + dim),
        Term("add_op", F.elementwise(tokens), tokens, tokens),
        Term("matmul_op", F.matmul(per_head, (b, heads, head_dim, length)), per_head, scores),
        Term("mul_op", F.elementwise(scores), scores, scores),
        Term("softmax_fn", F.softmax(F.numel(scores)), scores, scores),
        Term("matmul_fn", F.matmul(scores, per_head), scores, per_head),
        Term("add_op", F.elementwise(tokens), tokens, tokens),
        Term("mean", F.mean(tokens, (b, dim)), tokens, (b, dim)),
        Term("linear", F.linear((b, dim), (10, dim), bias=True), (b, dim), (b, 10), params=10 * dim + 10),
    ]

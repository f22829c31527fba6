"""Hypothesis strategies: for every registered layer type, random valid instances on a given input.

``LAYER_EXAMPLES[type](shape)`` draws ``(layer in the file form, output shape, blocks)`` for an input of
``shape`` (without the batch: ``(C, H, W)``, ``(F,)``, tokens ``(T, D)`` (a :class:`Tokens`, with the
grid of the image they came from) or token ids ``(T,)`` (:class:`Ids`)), valid by construction: sizes
follow PyTorch's rules, written out here independently of archlens. ``blocks`` are block definitions the
layer needs (a block use). The registry test fails for a registered type that has no entry here, so
a new layer type cannot land untested.
"""

from __future__ import annotations

import math

from hypothesis import strategies as st

Shape = tuple[int, ...]


class Tokens(tuple):
    """``(T, D)`` tokens, made from an image's ``grid`` (or ``None``)."""

    def __new__(cls, shape, grid=None):
        instance = super().__new__(cls, shape)
        instance.grid = grid
        return instance


class Ids(tuple):
    """``(T,)`` token ids of a vocabulary."""


def image(shape: Shape) -> bool:
    return len(shape) == 3


def features(shape: Shape) -> int:
    """The features a linear layer reads: the last dimension (of flat features or of each token)."""
    return shape[-1]


def keep_tokens(shape: Shape, out: Shape) -> Shape:
    """``out`` as tokens on ``shape``'s grid where ``shape`` is tokens and ``out`` keeps their count."""
    if isinstance(shape, Tokens) and len(out) == 2 and out[0] == shape[0]:
        return Tokens(out, shape.grid)
    return out


def conv_size(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


@st.composite
def conv(draw, shape: Shape, *, keep_size: bool = False):
    channels, height, width = shape
    out = draw(st.integers(1, 12))
    groups = draw(st.sampled_from(divisors(math.gcd(channels, out))))
    body: dict = {"out": out}
    if keep_size:
        kernel = draw(st.sampled_from([1, 3]))
        body.update(kernel=kernel, padding=draw(st.sampled_from([kernel // 2, "same"])))
        size = (height, width)
    else:
        dilation = draw(st.integers(1, 2))
        padding = draw(st.integers(0, 2))
        limit_h = (height + 2 * padding - 1) // dilation + 1
        limit_w = (width + 2 * padding - 1) // dilation + 1
        kh = draw(st.integers(1, max(1, min(4, limit_h))))
        kw = draw(st.integers(1, max(1, min(4, limit_w))))
        stride = draw(st.integers(1, 3))
        body.update(kernel=kh if kh == kw else [kh, kw], stride=stride, padding=padding)
        if dilation > 1:
            body["dilation"] = dilation
        size = (conv_size(height, kh, stride, padding, dilation), conv_size(width, kw, stride, padding, dilation))
    if groups > 1:
        body["groups"] = groups
    if draw(st.booleans()):
        body["batch_norm"] = draw(st.sampled_from([True, {"eps": 0.001}]))
        body["bias"] = draw(st.booleans())
    body["activation"] = draw(st.sampled_from(["relu", "none", "gelu", "silu", "hardswish", "relu6"]))
    return {"conv": body}, (out, *size), {}


@st.composite
def conv_transpose(draw, shape: Shape):
    channels, height, width = shape
    out = draw(st.integers(1, 8))
    groups = draw(st.sampled_from(divisors(math.gcd(channels, out))))
    kernel = draw(st.integers(1, 4))
    stride = draw(st.integers(1, 3))
    padding = draw(st.integers(0, (kernel - 1) // 2))
    output_padding = draw(st.integers(0, stride - 1))
    body = {"out": out, "kernel": kernel, "stride": stride, "padding": padding, "groups": groups,
            "activation": draw(st.sampled_from(["relu", "none"]))}
    if output_padding:
        body["output_padding"] = output_padding
    size = [(s - 1) * stride - 2 * padding + kernel + output_padding for s in (height, width)]
    return {"conv_transpose": body}, (out, *size), {}


@st.composite
def linear(draw, shape: Shape):
    out = draw(st.integers(1, 16))
    body = {"out": out, "bias": draw(st.booleans()), "activation": draw(st.sampled_from(["none", "relu", "gelu"]))}
    return {"linear": body}, keep_tokens(shape, (*shape[:-1], out)), {}


def pool_size(size: int, kernel: int, stride: int, padding: int, ceil_mode: bool, dilation: int = 1) -> int:
    span = dilation * (kernel - 1) + 1
    if not ceil_mode:
        return (size + 2 * padding - span) // stride + 1
    out = -(-(size + 2 * padding - span) // stride) + 1
    if (out - 1) * stride >= size + padding:
        out -= 1
    return out


@st.composite
def pool(draw, shape: Shape, kind: str):
    channels, height, width = shape
    dilation = draw(st.integers(1, 2)) if kind == "maxpool" else 1
    kernel = draw(st.integers(1, max(1, min(3, (min(height, width) - 1) // dilation + 1))))
    padding = draw(st.integers(0, kernel // 2))
    stride = draw(st.integers(1, kernel))
    ceil_mode = draw(st.booleans())
    body = {"kernel": kernel, "stride": stride, "padding": padding, "ceil_mode": ceil_mode}
    if dilation > 1:
        body["dilation"] = dilation
    size = [pool_size(s, kernel, stride, padding, ceil_mode, dilation) for s in (height, width)]
    return {kind: body}, (channels, *size), {}


@st.composite
def adaptive(draw, shape: Shape, kind: str):
    channels, height, width = shape
    out_h, out_w = draw(st.integers(1, height + 2)), draw(st.integers(1, width + 2))
    return {kind: {"output": out_h if out_h == out_w else [out_h, out_w]}}, (channels, out_h, out_w), {}


def same_shape(kind: str, body_strategy=None):
    @st.composite
    def draw_it(draw, shape: Shape):
        body = draw(body_strategy if body_strategy is not None else st.just({}))
        return {kind: body}, shape, {}
    return draw_it


@st.composite
def group_norm(draw, shape: Shape):
    return {"group_norm": {"groups": draw(st.sampled_from(divisors(shape[0]))),
                           "affine": draw(st.booleans())}}, shape, {}


@st.composite
def channel_shuffle(draw, shape: Shape):
    return {"channel_shuffle": {"groups": draw(st.sampled_from(divisors(shape[0])))}}, shape, {}


@st.composite
def upsample(draw, shape: Shape):
    channels, height, width = shape
    mode = draw(st.sampled_from(["nearest", "bilinear", "bicubic"]))
    body: dict = {"mode": mode}
    if mode != "nearest" and draw(st.booleans()):
        body["align_corners"] = True
    if draw(st.booleans()):
        scale = draw(st.integers(1, 3))
        body["scale"] = scale
        return {"upsample": body}, (channels, height * scale, width * scale), {}
    size = [draw(st.integers(1, 12)), draw(st.integers(1, 12))]
    body["size"] = size
    return {"upsample": body}, (channels, *size), {}


@st.composite
def flatten(draw, shape: Shape):
    return draw(st.just({"flatten": {}})), (math.prod(shape),), {}


@st.composite
def simple_stack(draw, shape: Shape, *, keep_size: bool = False, max_layers: int = 3, branch: bool = False):
    """A few simple layers (convs, activations, norms) drawn one after another.

    ``branch``: the stack is a branch reading a shared tensor, which it must not write first: the builder's
    ReLU runs in place, and a branch starting with it would overwrite what the other branches read (and,
    on a split's parts, autograd refuses it), so a training step could not run as PyTorch runs it."""
    layers = []
    shared = branch
    for _ in range(draw(st.integers(1, max_layers))):
        if image(shape):
            choice = draw(st.sampled_from(["conv", "batch_norm", "identity"] + ([] if shared else ["relu"])))
            if choice == "conv":
                layer, shape, _ = draw(conv(shape, keep_size=keep_size))
            else:
                layer = {choice: {}}
        else:
            choice = draw(st.sampled_from(["linear", "layer_norm"] + ([] if shared else ["relu"])))
            if choice == "linear":
                layer, shape, _ = draw(linear(shape))
            else:
                layer = {choice: {}}
        shared = shared and choice == "identity"
        layers.append(layer)
    return layers, shape


@st.composite
def sequence(draw, shape: Shape):
    layers, out = draw(simple_stack(shape))
    return {"sequence": {"layers": layers, **({"block": "stem"} if draw(st.booleans()) else {})}}, out, {}


@st.composite
def parallel(draw, shape: Shape):
    branches, channels = [], 0
    spatial = None
    for index in range(draw(st.integers(1, 3))):
        if index > 0 and draw(st.booleans()):
            layers, out = [{"identity": {}}], shape
        else:
            layers, out = draw(simple_stack(shape, keep_size=True, branch=True))
        branches.append({"name": f"b{index}", "layers": layers})
        channels += out[0]
        spatial = out[1:]
    return {"parallel": {"branches": branches}}, (channels, *spatial), {}


@st.composite
def split(draw, shape: Shape):
    channels = shape[0]
    count = draw(st.sampled_from([d for d in divisors(channels) if d <= 3]))
    branches, out_channels = [], 0
    for index in range(count):
        part = (channels // count, *shape[1:])
        if draw(st.booleans()):
            layers, out = [{"identity": {}}], part
        else:
            layers, out = draw(simple_stack(part, keep_size=True, branch=True))
        branches.append({"name": f"p{index}", "layers": layers})
        out_channels += out[0]
    return {"split": {"branches": branches}}, (out_channels, *shape[1:]), {}


@st.composite
def residual(draw, shape: Shape):
    rule = draw(st.sampled_from(["identity", "auto", "optional", "projection", "list"]))
    if image(shape):
        if rule in ("identity", "list"):
            layers, out = draw(simple_stack(shape, keep_size=True))
            layers.append({"conv": {"out": shape[0], "kernel": 1, "activation": "none"}})
            out = shape
        else:
            stride = draw(st.integers(1, 2))
            out_channels = draw(st.integers(1, 8))
            layers = [{"conv": {"out": out_channels, "kernel": 3, "padding": 1, "stride": stride,
                                "batch_norm": True, "bias": False}}]
            out = (out_channels, (shape[1] - 1) // stride + 1, (shape[2] - 1) // stride + 1)
    else:
        layers = [{"linear": {"out": features(shape)}}]
        out = shape
        rule = draw(st.sampled_from(["identity", "optional", "list"]))
    body: dict = {"layers": layers, "activation": draw(st.sampled_from(["none", "relu"]))}
    if rule == "list":
        body["shortcut"] = [{"identity": {}}] if draw(st.booleans()) else (
            [{"conv": {"out": shape[0], "kernel": 1}}] if image(shape) else [{"linear": {"out": features(shape)}}])
    elif rule != "identity":
        body["shortcut"] = rule
    if draw(st.booleans()):
        body["scale"] = draw(st.sampled_from([0.1, 0.17, 1.0]))
    if draw(st.booleans()):
        body["shortcut_first"] = True
    return {"residual": body}, out, {}


@st.composite
def gate(draw, shape: Shape):
    if image(shape):
        per_channel = draw(st.booleans())
        layers = ([{"adaptive_avgpool": {"output": 1}}] if per_channel else []) + [
            {"conv": {"out": shape[0], "kernel": 1, "activation": "sigmoid"}}]
    else:
        layers = [{"linear": {"out": features(shape), "activation": "sigmoid"}}]
    return {"gate": {"layers": layers}}, shape, {}


@st.composite
def squeeze_excite(draw, shape: Shape):
    body = {"squeeze": draw(st.integers(1, 6)), "activation": draw(st.sampled_from(["relu", "silu"])),
            "gate": draw(st.sampled_from(["sigmoid", "hardsigmoid"]))}
    return {"squeeze_excite": body}, shape, {}


@st.composite
def inception(draw, shape: Shape):
    numbers = {key: draw(st.integers(1, 6)) for key in
               ("ch1x1", "ch3x3_reduce", "ch3x3", "ch5x5_reduce", "ch5x5", "pool_proj")}
    body: dict = dict(numbers)
    channels = numbers["ch1x1"] + numbers["ch3x3"] + numbers["ch5x5"] + numbers["pool_proj"]
    if draw(st.booleans()):
        body["variant"] = "naive"
        channels = numbers["ch1x1"] + numbers["ch3x3"] + numbers["ch5x5"] + shape[0]
    if draw(st.booleans()):
        body.update(batch_norm=True, bias=False)
    return {"inception": body}, (channels, *shape[1:]), {}


@st.composite
def vgg_stage(draw, shape: Shape):
    out = draw(st.integers(1, 8))
    return ({"vgg_stage": {"convs": draw(st.integers(1, 2)), "out": out}},
            (out, shape[1] // 2, shape[2] // 2), {})


@st.composite
def repeat(draw, shape: Shape):
    times = draw(st.integers(1, 3))
    if image(shape):
        out = draw(st.integers(1, 8))
        layer = {"conv": {"out": out, "kernel": 3, "padding": 1}}
        first = {"stride": 2} if draw(st.booleans()) else {}
        size = shape[1:] if not first else tuple((s - 1) // 2 + 1 for s in shape[1:])
        if draw(st.booleans()):  # each copy gets its position: a stochastic-depth rate that grows
            blocks = {"ramp": {"params": {"out": "required", "stride": 1, "i": 0}, "widths": ["out"], "layers": [
                {"conv": {"out": "$out", "kernel": 3, "padding": 1, "stride": "$stride"}},
                {"stochastic_depth": {"p": "${0.1 * i}"}}]}}
            body = {"times": times, "index": "i", "layer": {"ramp": {"out": out}},
                    **({"first": first} if first else {})}
            return {"repeat": body}, (out, *size), blocks
        body = {"times": times, "layer": layer, **({"first": first} if first else {})}
        return {"repeat": body}, (out, *size), {}
    return {"repeat": {"times": times, "layer": {"linear": {"out": features(shape)}}}}, shape, {}


@st.composite
def block(draw, shape: Shape):
    """A use of a block defined in the spec: a residual bottleneck with parameters and expressions."""
    blocks = {"bneck": {"params": {"width": "required", "stride": 1}, "widths": ["width"], "layers": [
        {"residual": {"shortcut": "auto", "activation": "relu", "layers": [
            {"conv": {"name": "conv1", "out": "$width", "kernel": 1, "bias": False, "batch_norm": True}},
            {"conv": {"name": "conv2", "out": "$width", "kernel": 3, "stride": "$stride", "padding": 1}},
            {"conv": {"name": "conv3", "out": "${width * 2}", "kernel": 1, "activation": "none"}},
            {"squeeze_excite": {"squeeze": "${max(1, in_channels // 4)}"}},
        ]}}]}}
    if not image(shape):
        blocks = {"ffn": {"params": {"hidden": 8}, "widths": ["hidden"], "layers": [
            {"linear": {"out": "$hidden", "activation": "gelu"}}, {"linear": {"out": "$in_channels"}}]}}
        return {"ffn": {"hidden": draw(st.integers(1, 12))}}, shape, blocks
    width = draw(st.integers(1, 6))
    stride = draw(st.integers(1, 2))
    out = (2 * width, (shape[1] - 1) // stride + 1, (shape[2] - 1) // stride + 1)
    return {"bneck": {"width": width, "stride": stride}}, out, blocks


@st.composite
def regnet(draw, shape: Shape):
    depth = draw(st.integers(1, 4))
    body = {"depth": depth, "w_0": draw(st.sampled_from([8, 16])), "w_a": draw(st.sampled_from([4.0, 8.5])),
            "w_m": draw(st.sampled_from([2.0, 2.5])), "group_width": draw(st.sampled_from([4, 8])),
            "stride": 1}
    if draw(st.booleans()):
        body["se_ratio"] = 0.25
    # the output channels follow the design-space rule: the walk is the judge here; the shape is
    # computed by the test from the profile (None = "ask the engine").
    return {"regnet": body}, None, {}


@st.composite
def aux(draw, shape: Shape):
    return {"aux": {"layers": [{"adaptive_avgpool": {"output": 1}}, {"flatten": {}},
                               {"linear": {"out": draw(st.integers(1, 5))}}]}}, shape, {}


# --- tokens (issue 12) ---------------------------------------------------------------------------


@st.composite
def embedding(draw, shape: Shape):
    dim = draw(st.integers(1, 12))
    body: dict = {"dim": dim}
    if draw(st.booleans()):
        body["vocab"] = draw(st.integers(1, 50))
    return {"embedding": body}, Tokens((shape[0], dim)), {}


@st.composite
def position_embedding(draw, shape: Shape):
    body: dict = {}
    if draw(st.booleans()):
        body["learned"] = False
    if draw(st.booleans()):
        body["positions"] = shape[0] + draw(st.integers(0, 5))
    return {"position_embedding": body}, shape, {}


@st.composite
def class_token(draw, shape: Shape):
    tokens = draw(st.integers(1, 2))
    return {"class_token": {"tokens": tokens} if tokens > 1 else {}}, Tokens((shape[0] + tokens, shape[1])), {}


def to_tokens(shape: Shape):
    channels, height, width = shape
    return st.just(({"to_tokens": {}}, Tokens((height * width, channels), (height, width)), {}))


def to_image(shape: Shape):
    height, width = shape.grid
    return st.just(({"to_image": {}}, (shape[1], height, width), {}))


def patch_merge(shape: Shape):
    height, width = shape.grid
    grid = ((height + 1) // 2, (width + 1) // 2)
    return st.just(({"patch_merge": {}}, Tokens((grid[0] * grid[1], 4 * shape[1]), grid), {}))


@st.composite
def token_pool(draw, shape: Shape):
    return {"token_pool": {"mode": draw(st.sampled_from(["first", "mean"]))}}, (shape[1],), {}


@st.composite
def attention_body(draw, shape: Shape, *, rotary: bool = False):
    """An attention layer on ``shape``'s tokens: (body, head_dim)."""
    dim = shape[1]
    body: dict = {}
    if rotary or draw(st.booleans()):
        head_dim = draw(st.sampled_from([2, 4, 6]))
        heads = draw(st.integers(1, 4))
        body.update(heads=heads, head_dim=head_dim)
    else:
        heads = draw(st.sampled_from(divisors(dim)))
        head_dim = dim // heads
        body["heads"] = heads
    kv_heads = draw(st.sampled_from(divisors(heads)))
    if kv_heads != heads:
        body["kv_heads"] = kv_heads
    for field, choices in (("causal", [False, True, "skip"]), ("bias", [True, False]), ("out_bias", [True, False]),
                           ("qkv", ["fused", "separate"])):
        value = draw(st.sampled_from(choices))
        if value != choices[0]:
            body[field] = value
    if draw(st.booleans()):
        body["out"] = draw(st.integers(1, 12))
    if rotary:
        body["rotary"] = True
    return body, head_dim


@st.composite
def attention(draw, shape: Shape):
    rotary = draw(st.booleans())
    body, head_dim = draw(attention_body(shape, rotary=rotary))
    out = keep_tokens(shape, (shape[0], body.get("out", shape[1])))
    if not rotary:
        return {"attention": body}, out, {}
    return {"sequence": {"layers": [{"rotary_embedding": {"dim": head_dim}}, {"attention": body}]}}, out, {}


@st.composite
def rotary_embedding(draw, shape: Shape):
    if draw(st.booleans()):
        return {"rotary_embedding": {"dim": draw(st.sampled_from([2, 4, 8])), "base": 500000.0}}, shape, {}
    body, head_dim = draw(attention_body(shape, rotary=True))
    out = keep_tokens(shape, (shape[0], body.get("out", shape[1])))
    return {"sequence": {"layers": [{"rotary_embedding": {"dim": head_dim}}, {"attention": body}]}}, out, {}


@st.composite
def window_attention(draw, shape: Shape, kind: str = "window_attention"):
    height, width = shape.grid
    dim = shape[1]
    body: dict = {}
    if draw(st.booleans()):
        body.update(heads=draw(st.integers(1, 3)), head_dim=draw(st.sampled_from([2, 4])))
    else:
        body["heads"] = draw(st.sampled_from(divisors(dim)))
    if kind == "window_attention" and draw(st.booleans()):
        wh, ww = draw(st.sampled_from(divisors(height))), draw(st.sampled_from(divisors(width)))
        body["partition"] = "grid"
    else:
        wh, ww = draw(st.integers(1, 8)), draw(st.integers(1, 8))
        if draw(st.booleans()):
            sh, sw = draw(st.integers(0, wh - 1)), draw(st.integers(0, ww - 1))
            body["shift"] = sh if sh == sw else [sh, sw]
    body["window"] = wh if wh == ww else [wh, ww]
    for field in ("bias", "out_bias"):
        if draw(st.booleans()):
            body[field] = False
    if draw(st.booleans()):
        body["out"] = draw(st.integers(1, 10))
    return {kind: body}, Tokens((shape[0], body.get("out", dim)), shape.grid), {}


@st.composite
def mlp(draw, shape: Shape):
    body: dict = {"hidden": draw(st.integers(1, 16))}
    if draw(st.booleans()):
        body["out"] = draw(st.integers(1, 8))
    if draw(st.booleans()):
        body["dropout"] = 0.1
    if draw(st.booleans()):
        body["activation"] = draw(st.sampled_from(["relu", "gelu_tanh", "silu"]))
    if draw(st.booleans()):
        body["bias"] = False
    return {"mlp": body}, keep_tokens(shape, (*shape[:-1], body.get("out", shape[-1]))), {}


@st.composite
def gated_mlp(draw, shape: Shape):
    body: dict = {"hidden": draw(st.integers(1, 16))}
    if draw(st.booleans()):
        body["out"] = draw(st.integers(1, 8))
    if draw(st.booleans()):
        body["activation"] = draw(st.sampled_from(["gelu", "none", "relu"]))
    if draw(st.booleans()):
        body["bias"] = True
    return {"gated_mlp": body}, keep_tokens(shape, (*shape[:-1], body.get("out", shape[-1]))), {}


def activation(kind: str, body=None):
    return same_shape(kind, body)


IMAGE_ONLY = {"conv", "conv_transpose", "maxpool", "avgpool", "adaptive_avgpool", "adaptive_maxpool", "group_norm",
              "lrn", "upsample", "channel_shuffle", "inception", "vgg_stage", "squeeze_excite", "regnet", "flatten",
              "aux", "to_tokens"}
"""Types drawn on image inputs only (the rest are drawn on images and on flat features)."""
TOKEN_ONLY = {"attention", "rotary_embedding", "window_attention", "cosine_window_attention", "patch_merge",
              "to_image", "class_token", "position_embedding", "segment_embedding", "token_pool"}
"""Types drawn on tokens (from an image, on its grid) only."""
IDS_ONLY = {"embedding"}
"""Types drawn on token ids only."""
TOKEN_CAPABLE = {"linear", "layer_norm", "rms_norm", "mlp", "gated_mlp", "relu", "relu6", "leaky_relu", "gelu", "silu",
                 "sigmoid", "hardsigmoid", "hardswish", "tanh", "softmax", "dropout", "identity", "stochastic_depth",
                 "layer_scale", "sequence", "residual", "gate", "repeat", "block"}
"""Types drawn on tokens as well as on their other inputs."""

LAYER_EXAMPLES = {
    "conv": conv,
    "conv_transpose": conv_transpose,
    "linear": linear,
    "maxpool": lambda shape: pool(shape, "maxpool"),
    "avgpool": lambda shape: pool(shape, "avgpool"),
    "adaptive_avgpool": lambda shape: adaptive(shape, "adaptive_avgpool"),
    "adaptive_maxpool": lambda shape: adaptive(shape, "adaptive_maxpool"),
    "batch_norm": same_shape("batch_norm", st.sampled_from([{}, {"eps": 0.001}])),
    "layer_norm": same_shape("layer_norm", st.sampled_from([{}, {"eps": 1e-6}, {"bias": False}, {"affine": False}])),
    "group_norm": group_norm,
    "lrn": same_shape("lrn", st.builds(lambda size: {"size": size}, st.integers(1, 5))),
    "relu": activation("relu"),
    "relu6": activation("relu6"),
    "leaky_relu": activation("leaky_relu", st.sampled_from([{}, {"negative_slope": 0.2}])),
    "gelu": activation("gelu", st.sampled_from([{}, {"approximate": "tanh"}])),
    "silu": activation("silu"),
    "sigmoid": activation("sigmoid"),
    "hardsigmoid": activation("hardsigmoid"),
    "hardswish": activation("hardswish"),
    "tanh": activation("tanh"),
    "softmax": activation("softmax"),
    "flatten": flatten,
    "dropout": same_shape("dropout", st.sampled_from([{}, {"p": 0.2}])),
    "identity": same_shape("identity"),
    "stochastic_depth": same_shape("stochastic_depth", st.sampled_from([{}, {"p": 0.2}, {"p": 0.1, "mode": "batch"}])),
    "upsample": upsample,
    "channel_shuffle": channel_shuffle,
    "layer_scale": same_shape("layer_scale", st.sampled_from([{}, {"init": 0.1}])),
    "sequence": sequence,
    "parallel": parallel,
    "split": split,
    "aux": aux,
    "residual": residual,
    "gate": gate,
    "inception": inception,
    "vgg_stage": vgg_stage,
    "squeeze_excite": squeeze_excite,
    "repeat": repeat,
    "block": block,
    "regnet": regnet,
    "embedding": embedding,
    "position_embedding": position_embedding,
    "segment_embedding": same_shape("segment_embedding", st.sampled_from([{}, {"segments": 3}])),
    "class_token": class_token,
    "to_tokens": to_tokens,
    "to_image": to_image,
    "patch_merge": patch_merge,
    "token_pool": token_pool,
    "rms_norm": same_shape("rms_norm", st.sampled_from([{}, {"eps": 1e-6}, {"affine": False}])),
    "attention": attention,
    "rotary_embedding": rotary_embedding,
    "window_attention": window_attention,
    "cosine_window_attention": lambda shape: window_attention(shape, "cosine_window_attention"),
    "mlp": mlp,
    "gated_mlp": gated_mlp,
}


FLAT_ONLY = {"linear", "rms_norm", "mlp", "gated_mlp"}
"""Types drawn on flat features (or tokens) only."""


@st.composite
def spec_with(draw, kind: str, *, lead: bool = False, head: bool = False):
    """A small network around one layer of ``kind``: an input, a conv before (always with ``lead``:
    then every width the layer sees comes from a layer ``fit`` scales too), the layer, and a head
    (pool, flatten, linear) after (always with ``head``: the classifier whose width ``fit`` keeps);
    as plain data, with the blocks it needs."""
    if kind in IDS_ONLY:
        mode = "ids"
    elif kind in TOKEN_ONLY:
        mode = "tokens"
    else:
        flat = kind in FLAT_ONLY or (kind not in IMAGE_ONLY and draw(st.booleans()))
        mode = "flat" if flat else "image"
        if kind in TOKEN_CAPABLE and draw(st.booleans()):
            mode = "tokens"
    channels = draw(st.integers(1, 6))
    height, width = draw(st.integers(4, 16)), draw(st.integers(4, 16))
    layers: list = []
    shape: Shape = (channels, height, width)
    input_channels = channels
    if mode == "ids":
        tokens, vocab = draw(st.integers(1, 12)), draw(st.integers(1, 60))
        shape = Ids((tokens,))
        layer, out, blocks = draw(LAYER_EXAMPLES[kind](shape))
        layers = [layer]
        if head or draw(st.booleans()):
            layers += [{"token_pool": {"mode": "mean"}}, {"linear": {"out": 3}}]
        return {"name": f"random-{kind}", "input": {"tokens": tokens, "vocab": vocab}, "layers": layers}
    if lead or kind == "aux" or draw(st.booleans()):  # an aux head is a side output: something runs before it
        input_channels = draw(st.integers(1, 3))
        channels = draw(st.sampled_from([2, 4, 6, 8]))
        layers.append({"conv": {"out": channels, "kernel": 3, "padding": 1}})
        shape = (channels, height, width)
    if mode == "flat":
        layers += [{"adaptive_avgpool": {"output": 1}}, {"flatten": {}}]
        shape = (channels,)
    elif mode == "tokens":
        layers.append({"to_tokens": {}})
        shape = Tokens((height * width, channels), (height, width))
    layer, out, blocks = draw(LAYER_EXAMPLES[kind](shape))
    layers.append({**layer})
    if (out is None or len(out) == 3) and (head or draw(st.booleans())):
        layers += [{"adaptive_avgpool": {"output": 1}}, {"flatten": {}}, {"linear": {"out": 3}}]
    elif out is not None and len(out) == 2 and (head or draw(st.booleans())):
        layers += [{"token_pool": {"mode": "mean"}}, {"linear": {"out": 3}}]
    elif out is not None and len(out) == 1 and (head or draw(st.booleans())):
        layers.append({"linear": {"out": 3}})
    data = {"name": f"random-{kind}", "input": {"channels": input_channels, "height": height, "width": width},
            "layers": layers}
    if blocks:
        data["blocks"] = blocks
    return data

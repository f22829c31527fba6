"""Hypothesis strategies: random specs that are valid by construction, and ways to break them.

A valid spec is drawn layer by layer while tracking the tensor's shape, with PyTorch's own size
rules written out here independently of archlens, so every drawn layer fits its input: conv (groups,
strides, padding, non-square kernels, BatchNorm, bias), max/avg pooling (ceil mode, padding),
adaptive pooling, LRN, ReLU, dropout, softmax, Inception modules (reduced and naive), parallel
branches, sequences, VGG stages, then flatten and linear layers, and sometimes an aux head.
Specs are plain data in the file form (``{conv: {...}}``), as a user would write them.
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass

from hypothesis import strategies as st

# PyTorch's size rules, written out independently of archlens (shared with the layer-type strategies)
from tests.layers.strategies import conv_size, divisors, pool_size


@dataclass(frozen=True)
class Image:
    channels: int
    height: int
    width: int


@st.composite
def conv_layer(draw, shape: Image, *, name: str | None = None) -> tuple[dict, Image]:
    out = draw(st.integers(1, 12))
    groups = draw(st.sampled_from(divisors(math.gcd(shape.channels, out))))
    padding = draw(st.integers(0, 2))
    kh = draw(st.integers(1, min(5, shape.height + 2 * padding)))
    kw = draw(st.integers(1, min(5, shape.width + 2 * padding)))
    stride = draw(st.integers(1, 3))
    body: dict = {"out": out, "kernel": kh if kh == kw else [kh, kw], "stride": stride, "padding": padding}
    if groups > 1:
        body["groups"] = groups
    if draw(st.booleans()):
        body["batch_norm"] = draw(st.sampled_from([True, {"eps": 0.001}]))
        body["bias"] = draw(st.booleans())
    if draw(st.booleans()):
        body["activation"] = "none"
    if name:
        body = {"name": name, **body}
    return {"conv": body}, Image(out, conv_size(shape.height, kh, stride, padding),
                                 conv_size(shape.width, kw, stride, padding))


@st.composite
def pool_layer(draw, shape: Image) -> tuple[dict, Image]:
    kind = draw(st.sampled_from(["maxpool", "avgpool"]))
    kernel = draw(st.integers(1, min(4, shape.height, shape.width)))
    padding = draw(st.integers(0, kernel // 2))
    stride = draw(st.integers(1, kernel))
    ceil_mode = draw(st.booleans())
    body = {"kernel": kernel, "stride": stride, "padding": padding, "ceil_mode": ceil_mode}
    if kind == "avgpool" and draw(st.booleans()):
        body["count_include_pad"] = False
    height = pool_size(shape.height, kernel, stride, padding, ceil_mode)
    width = pool_size(shape.width, kernel, stride, padding, ceil_mode)
    return {kind: body}, Image(shape.channels, height, width)


@st.composite
def inception_layer(draw, shape: Image) -> tuple[dict, Image]:
    numbers = {key: draw(st.integers(1, 8)) for key in
               ("ch1x1", "ch3x3_reduce", "ch3x3", "ch5x5_reduce", "ch5x5", "pool_proj")}
    body: dict = dict(numbers)
    channels = numbers["ch1x1"] + numbers["ch3x3"] + numbers["ch5x5"] + numbers["pool_proj"]
    if draw(st.booleans()):
        body["variant"] = "naive"
        channels = numbers["ch1x1"] + numbers["ch3x3"] + numbers["ch5x5"] + shape.channels
    if draw(st.booleans()):
        body["kernel_5x5"] = 3
    if draw(st.booleans()):
        body["batch_norm"] = True
        body["bias"] = False
    if draw(st.booleans()):
        body["pool_ceil_mode"] = True
    return {"inception": body}, Image(channels, shape.height, shape.width)


@st.composite
def parallel_layer(draw, shape: Image) -> tuple[dict, Image]:
    """Branches of odd-kernel convolutions padded by kernel // 2 with one shared stride: every branch
    gives the same spatial size, (size - 1) // stride + 1, so they concatenate."""
    stride = draw(st.integers(1, 2))
    branches = []
    channels = 0
    for index in range(draw(st.integers(1, 3))):
        layers = []
        for depth in range(draw(st.integers(1, 2))):
            kernel = draw(st.sampled_from([1, 3, 5]))
            out = draw(st.integers(1, 8))
            layers.append({"conv": {"out": out, "kernel": kernel, "padding": kernel // 2,
                                    "stride": stride if depth == 0 else 1}})
        channels += out
        branches.append({"name": f"b{index}", "layers": layers})
    if stride == 1 and draw(st.booleans()):
        branches.append({"name": "pool", "layers": [{"maxpool": {"kernel": 3, "stride": 1, "padding": 1}}]})
        channels += shape.channels
    size = Image(channels, (shape.height - 1) // stride + 1, (shape.width - 1) // stride + 1)
    return {"parallel": {"branches": branches, "block": draw(st.sampled_from(["mixed", "inception"]))}}, size


@st.composite
def image_layer(draw, shape: Image, depth: int) -> tuple[dict, Image]:
    choices = ["conv", "pool", "relu", "lrn", "dropout", "softmax", "inception", "parallel", "adaptive"]
    if depth < 2:
        choices.append("sequence")
    if shape.height >= 2 and shape.width >= 2:
        choices.append("vgg_stage")
    kind = draw(st.sampled_from(choices))
    if kind == "conv":
        return draw(conv_layer(shape))
    if kind == "pool":
        return draw(pool_layer(shape))
    if kind == "inception":
        return draw(inception_layer(shape))
    if kind == "parallel":
        return draw(parallel_layer(shape))
    if kind == "adaptive":
        height = draw(st.integers(1, shape.height))
        width = draw(st.integers(1, shape.width))
        output = height if height == width else [height, width]
        return {"adaptive_avgpool": {"output": output}}, Image(shape.channels, height, width)
    if kind == "lrn":
        return {"lrn": {"size": draw(st.integers(1, 5))}}, shape
    if kind == "dropout":
        return {"dropout": {"p": draw(st.sampled_from([0.0, 0.2, 0.5]))}}, shape
    if kind == "vgg_stage":
        out = draw(st.integers(1, 8))
        convs = draw(st.integers(1, 2))
        return {"vgg_stage": {"convs": convs, "out": out}}, Image(out, shape.height // 2, shape.width // 2)
    if kind == "sequence":
        layers, shape = draw(image_stack(shape, depth + 1, max_layers=3))
        return {"sequence": {"layers": layers}}, shape
    return {kind: {}}, shape


@st.composite
def image_stack(draw, shape: Image, depth: int = 0, max_layers: int = 6) -> tuple[list, Image]:
    layers = []
    for _ in range(draw(st.integers(1, max_layers))):
        layer, shape = draw(image_layer(shape, depth))
        layers.append(layer)
    return layers, shape


@st.composite
def valid_specs(draw) -> dict:
    """A spec as plain data, valid by construction: conv/pool/inception/parallel stacks, then linear."""
    start = Image(draw(st.integers(1, 6)), draw(st.integers(4, 40)), draw(st.integers(4, 40)))
    layers, shape = draw(image_stack(start))
    if draw(st.booleans()):
        layers.insert(draw(st.integers(1, len(layers))), {"aux": {"layers": [
            {"adaptive_avgpool": {"output": 1}}, {"flatten": {}}, {"linear": {"out": draw(st.integers(1, 10))}},
        ]}})
    if draw(st.booleans()):
        layers.append({"flatten": {}})
        for _ in range(draw(st.integers(0, 3))):
            layers.append(draw(st.sampled_from([
                {"linear": {"out": draw(st.integers(1, 24))}},
                {"linear": {"out": draw(st.integers(1, 24)), "activation": "relu", "bias": False}},
                {"dropout": {}},
                {"relu": {}},
            ])))
        if draw(st.booleans()):
            layers.append({"softmax": {}})
    return {
        "name": draw(st.text(string.ascii_letters + string.digits + " -_.<>&'\"{}", min_size=1, max_size=20)),
        "input": {"channels": start.channels, "height": start.height, "width": start.width},
        "layers": layers,
    }


# ---------------------------------------------------------------- breaking specs

JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
    st.lists(st.integers(-2, 5), max_size=4), st.dictionaries(st.text(max_size=5), st.integers(-1, 3), max_size=2),
)


def _paths(data, prefix=()):
    """Every (path, value) in nested dicts and lists."""
    yield prefix, data
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _paths(value, (*prefix, index))


def _replace(data, path, make):
    if not path:
        return make(data)
    head, *rest = path
    if isinstance(data, dict):
        return {key: (_replace(value, rest, make) if key == head else value) for key, value in data.items()}
    return [(_replace(value, rest, make) if index == head else value) for index, value in enumerate(data)]


@st.composite
def broken_specs(draw) -> dict:
    """A valid spec with one to three random mutations: a value replaced by junk, a key dropped, an
    unknown key added, a list emptied. The result may still be valid; it must never crash."""
    data = draw(valid_specs())
    for _ in range(draw(st.integers(1, 3))):
        paths = [path for path, _ in _paths(data) if path]
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["junk", "drop", "extra", "empty"]))
        if action == "junk":
            junk = draw(JUNK)
            data = _replace(data, path, lambda _: junk)
        elif action == "drop":
            data = _replace(data, path[:-1], lambda parent: (
                {k: v for k, v in parent.items() if k != path[-1]} if isinstance(parent, dict)
                else [v for i, v in enumerate(parent) if i != path[-1]]))
        elif action == "extra":
            key = draw(st.sampled_from(["strid", "type", "name", "layers", "out", "kernel", "x"]))
            value = draw(JUNK)
            data = _replace(data, path, lambda node: {**node, key: value} if isinstance(node, dict) else node)
        else:
            data = _replace(data, path, lambda node: type(node)() if isinstance(node, (dict, list)) else node)
    return data


def examples(count: int) -> int:
    """A test's example budget, times ARCHLENS_EXAMPLES (default 1) for a longer exploration."""
    import os

    return count * int(os.environ.get("ARCHLENS_EXAMPLES", "1"))

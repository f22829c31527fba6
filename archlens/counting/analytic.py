"""The analytic engine: a profile from a spec by shape inference, without importing torch.

It walks the expanded spec, infers every shape with PyTorch's own size rules, and applies the
formulas of :mod:`archlens.counting.formulas`; the torch engine applies the same formulas to the
ops it sees, and for every built-in network both agree to the last multiply-add.
"""

from __future__ import annotations

from archlens.counting import formulas as F
from archlens.counting.records import DTYPE_BYTES, DepthFigures, Group, LayerStats, Profile
from archlens.errors import ShapeError, SpecError
from archlens.spec import schema
from archlens.spec.expand import expand, unit_parts
from archlens.spec.schema import NetworkSpec, pair

Shape = tuple[int, ...]


def profile_spec(spec: NetworkSpec, *, batch: int = 1, dtype: str = "float32", train: bool = False) -> Profile:
    """Profile a spec analytically.

    >>> from archlens.spec import load_spec
    >>> profile_spec(load_spec("vgg16")).totals.params
    138357544
    """
    if dtype not in DTYPE_BYTES:
        raise SpecError(f"unknown dtype {dtype!r}", hint=f"use one of {', '.join(DTYPE_BYTES)}")
    if batch < 1:
        raise SpecError(f"batch size must be at least 1, got {batch}")
    expanded = expand(spec)
    walker = _Walker(DTYPE_BYTES[dtype], train)
    shape = (batch, spec.input.channels, spec.input.height, spec.input.width)
    _, depth = walker.walk(expanded.layers, "", shape, (0, 0))
    weighted = max([depth[0], *(d[0] for d in walker.side_depths)])
    with_pooling = max([depth[1], *(d[1] for d in walker.side_depths)])
    return Profile(
        name=spec.name,
        engine="analytic",
        input_shape=shape,
        dtype=dtype,
        train=train,
        layers=tuple(walker.records),
        groups=tuple(walker.groups),
        depth=DepthFigures(weighted=weighted, with_pooling=with_pooling),
        metadata=spec.metadata.model_dump(mode="json", exclude_none=True) if spec.metadata else None,
    )


def _qualified(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _fmt(shape: Shape) -> str:
    return "x".join(map(str, shape))


class _Walker:
    def __init__(self, dtype_bytes: int, train: bool):
        self.dtype_bytes = dtype_bytes
        self.train = train
        self.records: list[LayerStats] = []
        self.groups: list[Group] = []
        self.side_depths: list[tuple[int, int]] = []

    def record(self, name: str, kind: str, in_shape: Shape, out_shape: Shape, ops: F.OpCount,
               weights: int = 0, biases: int = 0) -> None:
        elements = F.numel(out_shape)
        self.records.append(
            LayerStats(name, kind, in_shape, out_shape, weights, biases, ops, elements, elements * self.dtype_bytes)
        )

    def walk(self, layers: list, prefix: str, shape: Shape, depth: tuple[int, int]) -> tuple[Shape, tuple[int, int]]:
        for layer in layers:
            shape, depth = self.layer(layer, _qualified(prefix, layer.name), shape, depth)
        return shape, depth

    def layer(self, layer, name: str, shape: Shape, depth: tuple[int, int]) -> tuple[Shape, tuple[int, int]]:
        handler = _HANDLERS.get(layer.type)
        if handler is None:  # pragma: no cover - expansion leaves only the types below
            raise SpecError(f"layer type {layer.type!r} was not expanded", where=name)
        return handler(self, layer, name, shape, depth)

    def _conv(self, layer, name, shape, depth):
        return self.conv(layer, name, shape), (depth[0] + 1, depth[1] + 1)

    def _linear(self, layer, name, shape, depth):
        return self.linear(layer, name, shape), (depth[0] + 1, depth[1] + 1)

    def _pool(self, layer, name, shape, depth):
        return self.pool(layer, name, shape), (depth[0], depth[1] + 1)

    def _adaptive_avgpool(self, layer, name, shape, depth):
        self.require_rank(name, "adaptive_avgpool", shape, 4)
        out = (*shape[:2], *pair(layer.output))
        self.record(name, layer.type, shape, out, F.adaptive_pool(shape, out))
        return out, (depth[0], depth[1] + 1)

    def _lrn(self, layer, name, shape, depth):
        self.record(name, "lrn", shape, shape, F.local_response_norm(F.numel(shape), layer.size))
        return shape, depth

    def _relu(self, layer, name, shape, depth):
        self.record(name, "relu", shape, shape, F.relu(F.numel(shape)))
        return shape, depth

    def _softmax(self, layer, name, shape, depth):
        self.record(name, "softmax", shape, shape, F.softmax(F.numel(shape)))
        return shape, depth

    def _dropout(self, layer, name, shape, depth):
        self.record(name, "dropout", shape, shape, F.ZERO)
        return shape, depth

    def _flatten(self, layer, name, shape, depth):
        out = (shape[0], F.numel(shape[1:]))
        self.record(name, "flatten", shape, out, F.ZERO)
        return out, depth

    def _sequence(self, layer, name, shape, depth):
        self.groups.append(Group(name, layer.block or "sequence"))
        return self.walk(layer.layers, name, shape, depth)

    def _aux(self, layer, name, shape, depth):
        if self.train:
            self.groups.append(Group(name, "aux"))
            _, side = self.walk(layer.layers, name, shape, depth)
            self.side_depths.append(side)
        return shape, depth

    def require_rank(self, name: str, kind: str, shape: Shape, rank: int) -> None:
        if len(shape) != rank:
            need = "an image-shaped input (N x C x H x W)" if rank == 4 else "a flat input (N x features)"
            fix = "remove the flatten before it" if rank == 4 else "add a flatten layer before it"
            raise ShapeError(f"{kind} needs {need}, got {_fmt(shape)}", where=name, hint=fix)

    def conv(self, layer: schema.Conv, name: str, shape: Shape) -> Shape:
        self.require_rank(name, "conv", shape, 4)
        batch, channels, height, width = shape
        if channels % layer.groups or layer.out % layer.groups:
            raise ShapeError(
                f"groups={layer.groups} must divide both input channels ({channels}) and output channels ({layer.out})",
                where=name,
            )
        (kh, kw), (sh, sw), (ph, pw) = pair(layer.kernel), pair(layer.stride), pair(layer.padding)
        out_h = (height + 2 * ph - kh) // sh + 1  # formulas.conv_output_size, inlined: the hot path
        out_w = (width + 2 * pw - kw) // sw + 1
        if out_h < 1 or out_w < 1:
            raise ShapeError(
                f"kernel {kh}x{kw} is larger than the padded input {height + 2 * ph}x{width + 2 * pw} "
                f"(input {_fmt(shape)})",
                where=name,
                hint="use a smaller kernel, more padding, or a larger input",
            )
        out = (batch, layer.out, out_h, out_w)
        weight_shape = (layer.out, channels // layer.groups, kh, kw)
        parts = unit_parts(layer)
        grouped = len(parts) > 1
        if grouped:
            self.groups.append(Group(name, "conv"))
        self.record(f"{name}.conv" if grouped else name, "conv", shape, out,
                    F.conv(out, weight_shape, bias=layer.bias),
                    weights=layer.out * weight_shape[1] * kh * kw, biases=layer.out if layer.bias else 0)
        elements = batch * layer.out * out_h * out_w
        if "bn" in parts:
            self.record(f"{name}.bn", "batchnorm", out, out, F.batch_norm(elements),
                        weights=layer.out, biases=layer.out)
        if "relu" in parts:
            self.record(f"{name}.relu", "relu", out, out, F.relu(elements))
        return out

    def linear(self, layer: schema.Linear, name: str, shape: Shape) -> Shape:
        self.require_rank(name, "linear", shape, 2)
        features = shape[1]
        out = (shape[0], layer.out)
        weight_shape = (layer.out, features)
        parts = unit_parts(layer)
        if len(parts) > 1:
            self.groups.append(Group(name, "linear"))
        first = f"{name}.linear" if len(parts) > 1 else name
        self.record(first, "linear", shape, out, F.linear(shape, weight_shape, bias=layer.bias),
                    weights=F.numel(weight_shape), biases=layer.out if layer.bias else 0)
        if "relu" in parts:
            self.record(f"{name}.relu", "relu", out, out, F.relu(F.numel(out)))
        return out

    def pool(self, layer, name: str, shape: Shape) -> Shape:
        self.require_rank(name, layer.type, shape, 4)
        kernel = pair(layer.kernel)
        stride = pair(layer.stride if layer.stride is not None else layer.kernel)
        padding = pair(layer.padding)
        for k, p in zip(kernel, padding):
            if p > k // 2:
                raise ShapeError(
                    f"padding {p} is more than half the kernel {k}", where=name,
                    hint="PyTorch allows pooling padding up to kernel // 2",
                )
        sizes = [
            F.pool_output_size(size, k, s, p, layer.ceil_mode)
            for size, k, s, p in zip(shape[2:], kernel, stride, padding)
        ]
        if min(sizes) < 1:
            raise ShapeError(
                f"kernel {kernel[0]}x{kernel[1]} is larger than the padded input "
                f"{shape[2] + 2 * padding[0]}x{shape[3] + 2 * padding[1]} (input {_fmt(shape)})",
                where=name,
                hint="use a smaller kernel or stride, or a larger input",
            )
        out = (*shape[:2], *sizes)
        self.record(name, layer.type, shape, out, F.pool(out, kernel))
        return out

    def parallel(self, layer: schema.Parallel, name: str, shape: Shape, depth: tuple[int, int]):
        self.groups.append(Group(name, layer.block or "parallel"))
        outputs = []
        depths = []
        for branch in layer.branches:
            branch_name = f"{name}.{branch.name}"
            self.groups.append(Group(branch_name, "branch"))
            out, branch_depth = self.walk(branch.layers, branch_name, shape, depth)
            outputs.append((branch.name, out))
            depths.append(branch_depth)
        first_name, first = outputs[0]
        for branch_name, out in outputs[1:]:
            if len(out) != len(first) or out[0] != first[0] or out[2:] != first[2:]:
                raise ShapeError(
                    f"branch outputs cannot be concatenated on channels: {first_name} gives {_fmt(first)}, "
                    f"{branch_name} gives {_fmt(out)}",
                    where=name,
                    hint="branches must keep the same spatial size (check stride and padding)",
                )
        concatenated = (first[0], sum(out[1] for _, out in outputs), *first[2:])
        self.record(name, "concat", shape, concatenated, F.ZERO)
        return concatenated, (max(d[0] for d in depths), max(d[1] for d in depths))


_HANDLERS = {
    "conv": _Walker._conv,
    "linear": _Walker._linear,
    "maxpool": _Walker._pool,
    "avgpool": _Walker._pool,
    "adaptive_avgpool": _Walker._adaptive_avgpool,
    "lrn": _Walker._lrn,
    "relu": _Walker._relu,
    "softmax": _Walker._softmax,
    "dropout": _Walker._dropout,
    "flatten": _Walker._flatten,
    "parallel": _Walker.parallel,
    "sequence": _Walker._sequence,
    "aux": _Walker._aux,
}

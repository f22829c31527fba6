"""The registry of layer types: one layer type, one class, one module.

A layer type is registered with :func:`register` (refusing a second type of the same name, as
torch's ``register_flop_formula`` does). The spec's schema, the walk (expansion and the analytic
engine), the builder, ``fit``, graphs and ``show`` all dispatch through it; none of them knows a
type by name. Adding a layer type is one module here (plus its tests and a README row)::

    @register
    class Swish(Primitive):
        type: Literal["swish"] = "swish"
        ...

Types written in the spec file itself (``blocks:``) need no Python: see :mod:`archlens.layers.block`.
"""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import BeforeValidator, Field, TypeAdapter, ValidationInfo

from archlens.errors import did_you_mean
from archlens.layers.base import CannotScale, LayerType, Scaler, Shape

LAYER_TYPES: dict[str, type[LayerType]] = {}
"""Every registered layer type by its type name, in registration order."""

_CONTAINERS: list[type] = []  # models whose fields hold layers: rebuilt when a type is registered
_ADAPTER: list[TypeAdapter] = []


def register(cls: type[LayerType]) -> type[LayerType]:
    """Register a layer type (a class decorator). Its ``type`` field's default is its name."""
    field = cls.model_fields.get("type")
    if field is None or not isinstance(field.default, str):
        raise TypeError(f"{cls.__name__} needs a field `type: Literal[...] = 'name'`")
    name = field.default
    if name in LAYER_TYPES and LAYER_TYPES[name] is not cls:
        raise ValueError(f"layer type {name!r} is registered twice ({LAYER_TYPES[name].__name__} and {cls.__name__})")
    if cls.macro and cls.expand is LayerType.expand:
        raise TypeError(f"{cls.__name__} is a macro (macro = True) but does not define expand()")
    if not cls.macro and cls.infer is LayerType.infer and cls.forward is LayerType.forward:
        raise TypeError(f"{cls.__name__} defines neither infer() (a primitive) nor forward() (a container)")
    LAYER_TYPES[name] = cls
    cls.leaf = cls.forward is LayerType.forward and not cls.macro
    if not cls.__pydantic_complete__ and cls not in _CONTAINERS:  # it refers to AnyLayer: a container
        _CONTAINERS.append(cls)
    if _REBUILT:
        rebuild()
    return cls


def holds_layers(cls: type) -> type:
    """Mark a model whose fields refer to ``AnyLayer`` (a container, a branch, the network spec)."""
    _CONTAINERS.append(cls)
    return cls


def _single_key_layer(value: Any, info: ValidationInfo) -> Any:
    """Turn the file form ``{conv: {out: 64, ...}}`` into the tagged form pydantic validates.

    A key naming one of the spec's own ``blocks`` becomes a block use (``type: block``)."""
    if isinstance(value, LayerType):
        return value
    if not isinstance(value, dict):
        raise ValueError(f"a layer must be a mapping like {{conv: {{out: 64, kernel: 3}}}}, not {_describe(value)}")
    if isinstance(value.get("type"), str) and value["type"] in LAYER_TYPES:
        return value  # already tagged (Python API users may pass dicts with a type field)
    if len(value) != 1:
        keys = ", ".join(k if isinstance(k, str) and k.isidentifier() else repr(k) for k in value) or "none"
        raise ValueError(f"a layer is a mapping with exactly one key, its type; found keys: {keys}")
    ((kind, body),) = value.items()
    blocks = (info.context or {}).get("blocks", ()) if info is not None else ()
    if kind not in LAYER_TYPES and kind not in blocks:
        known = [*LAYER_TYPES, *blocks]
        hint = did_you_mean(str(kind), known)
        raise ValueError(
            f"unknown layer type {kind!r}" + (f"; {hint}" if hint else f"; known types: {', '.join(known)}"))
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise ValueError(f"the fields of {kind!r} must be a mapping, not {_describe(body)}")
    if "type" in body:
        raise ValueError(f"{kind!r} has no field 'type': the layer type is the key")
    if kind in blocks and kind not in LAYER_TYPES:
        name = body.get("name")
        args = {key: item for key, item in body.items() if key != "name"}
        return {"type": "block", "block": kind, "args": args, **({"name": name} if "name" in body else {})}
    return {**body, "type": kind}


def _describe(value: Any) -> str:
    return {list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean"}.get(
        type(value), type(value).__name__)


def any_layer() -> Any:
    """The annotation of "any registered layer": a discriminated union in the file form."""
    members = tuple(LAYER_TYPES.values())
    union = members[0] if len(members) == 1 else Union[members]  # type: ignore[valid-type]
    return Annotated[union, Field(discriminator="type"), BeforeValidator(_single_key_layer)]


_REBUILT = False


def _namespace() -> dict[str, Any]:
    from typing import List, Literal

    # names the containers' string annotations use (pydantic resolves an inherited field's annotation
    # in the subclass's module, which need not import them)
    return {"AnyLayer": any_layer(), "Annotated": Annotated, "List": List, "Field": Field, "Union": Union,
            "Literal": Literal}


def rebuild(models: "list[type] | None" = None) -> None:
    """Make every model that holds layers (or only ``models``) see the union of every registered type.

    At import the models' schemas are deferred (built at their first validation, once, for the whole
    union): this only puts ``AnyLayer`` where their string annotations look for it, so a command that
    never validates a spec pays nothing. A type registered later rebuilds them at once (each field
    written with ``AnyLayer`` evaluated again: pydantic keeps resolved annotations otherwise)."""
    global _REBUILT
    import sys

    from pydantic.fields import FieldInfo

    namespace = _namespace()
    for model in _CONTAINERS if models is None else models:
        for owner in model.__mro__:
            module = sys.modules.get(owner.__module__)
            if module is not None and owner.__module__.startswith("archlens"):
                for key, value in namespace.items():
                    if key == "AnyLayer" or not hasattr(module, key):
                        setattr(module, key, value)
        if _REBUILT and models is None:
            for owner in reversed(model.__mro__):
                for name, raw in vars(owner).get("__annotations__", {}).items():
                    if isinstance(raw, str) and "AnyLayer" in raw and name in model.__pydantic_fields__:
                        scope = {**vars(sys.modules[owner.__module__]), **namespace}
                        field = model.__pydantic_fields__[name]
                        model.__pydantic_fields__[name] = FieldInfo.from_annotated_attribute(
                            eval(raw, scope), field.default)  # noqa: S307 (our own source's annotation)
            model.model_rebuild(force=True, _types_namespace=namespace)
    if models is None:
        _ADAPTER.clear()  # made again at its next use
    _REBUILT = _REBUILT or models is None


def complete(model: type) -> None:
    """Make one model that holds layers (marked with :func:`holds_layers` after the registry was made:
    the network spec) see the union of the registered types (its schema is built at first use)."""
    rebuild([model])


def validate_layers(data: Any, *, blocks: Any = ()) -> list[LayerType]:
    """Validate plain data (a list of layers in the file form) into layers; raises pydantic's error."""
    if not _ADAPTER:
        _ADAPTER.append(TypeAdapter(list[any_layer()]))  # type: ignore[misc]
    return _ADAPTER[0].validate_python(data, context={"blocks": blocks})


def layer_type(name: str) -> type[LayerType]:
    """The registered class of layer type ``name`` (a ``KeyError`` if none)."""
    return LAYER_TYPES[name]


# The built-in layer types: importing registers them (order = the order `archlens` lists them in).
from archlens.layers import (  # noqa: E402,F401  (registration by import)
    conv,
    linear,
    pooling,
    norms,
    activations,
    simple,
    tokens,
    attention,
    containers,
    residual,
    gate,
    inception,
    vgg,
    squeeze_excite,
    repeat,
    block,
    regnet,
    mlp,
    window_attention,
)

rebuild()

from archlens.layers.containers import Branch  # noqa: E402
from archlens.layers.fields import BatchNormOptions  # noqa: E402
from archlens.layers.problems import FIELD_MODELS  # noqa: E402
from archlens.layers.residual import Projection  # noqa: E402

FIELD_MODELS.update({"batch_norm": BatchNormOptions, "branches": Branch, "projection": Projection})

__all__ = ["LAYER_TYPES", "CannotScale", "LayerType", "Scaler", "Shape", "complete", "holds_layers", "layer_type",
           "register", "rebuild", "validate_layers"]

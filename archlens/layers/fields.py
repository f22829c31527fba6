"""Field types shared by layer types and the spec's top level: sizes, names, free text, options."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt

PositiveInt = Annotated[StrictInt, Field(gt=0)]
NonNegativeInt = Annotated[StrictInt, Field(ge=0)]
Number = Annotated[Union[StrictInt, float], Field(allow_inf_nan=False)]
Probability = Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)]
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
# A kernel, stride or output size: one integer for both sides, or [height, width].
Size = Union[PositiveInt, tuple[PositiveInt, PositiveInt]]
Padding = Union[NonNegativeInt, tuple[NonNegativeInt, NonNegativeInt]]

ACTIVATIONS = ("relu", "relu6", "leaky_relu", "gelu", "gelu_tanh", "silu", "sigmoid", "hardsigmoid", "hardswish",
               "tanh")
"""Activations a conv or linear layer may end with (``activation: gelu``), and standalone layer types."""
ActivationName = Literal["relu", "relu6", "leaky_relu", "gelu", "gelu_tanh", "silu", "sigmoid", "hardsigmoid",
                         "hardswish", "tanh", "none"]

NAME_PATTERN = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_]{0,63}|[0-9]{1,9})$")
NAME_RULE = "letters, digits and underscores, starting with a letter or underscore (or only digits), at most 64"
# Names a module cannot take: attributes every torch.nn.Module has (a child called `training` or
# `forward` would replace them), and what PyTorch refuses itself.
RESERVED_NAMES = frozenset({
    "T_destination", "add_module", "apply", "bfloat16", "buffers", "call_super_init", "children", "compile", "cpu",
    "cuda", "double", "dump_patches", "eval", "extra_repr", "float", "forward", "get_buffer", "get_extra_state",
    "get_parameter", "get_submodule", "half", "ipu", "load_state_dict", "modules", "mtia", "named_buffers",
    "named_children", "named_modules", "named_parameters", "parameters", "register_backward_hook",
    "register_buffer", "register_forward_hook", "register_forward_pre_hook", "register_full_backward_hook",
    "register_full_backward_pre_hook", "register_load_state_dict_post_hook", "register_load_state_dict_pre_hook",
    "register_module", "register_parameter", "register_state_dict_post_hook", "register_state_dict_pre_hook",
    "requires_grad_", "set_extra_state", "set_submodule", "share_memory", "state_dict", "to", "to_empty", "train",
    "training", "type", "xpu", "zero_grad",
    # attributes of the modules archlens builds
    "archlens_kind", "archlens_op_kind", "archlens_name", "aux_names",
})


def check_name(value: str | None) -> str | None:
    """A layer or branch name: it becomes a module name, so it must be a plain identifier (or a number,
    as PyTorch's ``nn.Sequential`` names its children) and not an attribute of ``nn.Module``."""
    if value is None:
        return value
    if not NAME_PATTERN.match(value):
        raise ValueError(f"layer name {value!r} is not allowed: use {NAME_RULE} characters")
    if value in RESERVED_NAMES or value.startswith("_"):
        raise ValueError(f"layer name {value!r} is not allowed: it is an attribute of torch.nn.Module "
                         "(names starting with '_' are reserved too); choose another")
    return value


LayerName = Annotated[str, AfterValidator(check_name)]


def _no_control_characters(allowed: str):
    """A validator refusing control characters (an escape sequence would reach the terminal, a
    newline would break a one-line error, a CSV row or a graph label); ``allowed`` ones pass."""

    def check(value: str) -> str:
        for position, character in enumerate(value):
            code = ord(character)
            if (code < 32 or 127 <= code < 160 or code in (0x2028, 0x2029)) and character not in allowed:
                raise ValueError(f"must not contain control characters (found {character!r} at position {position})")
            if 0xD800 <= code <= 0xDFFF:
                raise ValueError(f"must be valid text (a lone surrogate {character!r} at position {position})")
        return value

    return check


# Free text that reaches reports and graphs (renderers escape it): a line, or a paragraph.
Line = Annotated[str, AfterValidator(_no_control_characters(""))]
Text = Annotated[str, AfterValidator(_no_control_characters("\n\t"))]


def pair(value: int | tuple[int, int]) -> tuple[int, int]:
    """``3`` -> ``(3, 3)``; ``(3, 5)`` stays."""
    return (value, value) if isinstance(value, int) else (value[0], value[1])


class Model(BaseModel):
    """A frozen pydantic model refusing unknown fields (every part of a spec is one)."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=False, defer_build=True)


def _batch_norm_shorthand(value: Any) -> Any:
    """``batch_norm: true`` means default BatchNorm; ``false`` or absent means none."""
    if value is True:
        return {}
    if value is False:
        return None
    return value


class BatchNormOptions(Model):
    """BatchNorm after a convolution (PyTorch defaults: eps 1e-5, momentum 0.1)."""

    eps: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 1e-5
    momentum: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = 0.1


OptionalBatchNorm = Annotated[Union[BatchNormOptions, None], BeforeValidator(_batch_norm_shorthand)]
StrictBoolField = StrictBool

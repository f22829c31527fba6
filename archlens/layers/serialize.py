"""Layers back to the file form (``{conv: {name: c1, out: 64, kernel: 3}}``), defaults left out."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from archlens.layers.base import LayerType


def file_form(layer: LayerType) -> dict[str, Any]:
    """The layer as a spec file writes it: a mapping with one key, its type (or its block's name).

    >>> from archlens.layers.conv import Conv
    >>> file_form(Conv(name="c1", out=64, kernel=3, batch_norm=True))
    {'conv': {'name': 'c1', 'out': 64, 'kernel': 3, 'batch_norm': {}}}
    """
    key, body = layer.file_key_and_body() if hasattr(layer, "file_key_and_body") else (layer.type, None)
    if body is None:
        body = model_data(layer, exclude=("type",))
    if layer.name is not None:
        body = {"name": layer.name, **{k: v for k, v in body.items() if k != "name"}}
    return {key: body}


def model_data(model: BaseModel, *, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """A model's fields that differ from their defaults, as plain data (nested layers in file form)."""
    data = {}
    for name, field in type(model).model_fields.items():
        if name in exclude:
            continue
        value = getattr(model, name)
        if not field.is_required() and _same(value, field.default):
            continue
        data[name] = plain(value)
    return data


def plain(value: Any) -> Any:
    """Plain data (dicts, lists, text, numbers) for a field value."""
    if isinstance(value, LayerType):
        return file_form(value)
    if isinstance(value, BaseModel):
        return model_data(value)
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value


def _same(value: Any, default: Any) -> bool:
    if isinstance(value, BaseModel) or isinstance(default, BaseModel):
        return type(value) is type(default) and value == default
    if isinstance(value, bool) != isinstance(default, bool):
        return False
    return value == default

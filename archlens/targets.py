"""Targets: the one place that decides what a target is and what the input options mean for it.

A target is a built-in network name (``googlenet``), a spec file (``mynet.yaml``), a spec or its
data (a :class:`~archlens.spec.NetworkSpec`, a dict), ``package.module:callable`` (a model in your
own code, imported from the current directory as uvicorn and gunicorn do), or, from Python, an
``nn.Module`` or a callable returning one. :func:`resolve` turns any of them into a
:class:`SpecTarget` or a :class:`ModuleTarget`, with the input options applied the same way for
every command and every report:

* ``input_shape`` (N, C, H, W): a spec's input is replaced by C, H, W and its batch is N; a module
  runs on a tensor of that shape (a module target needs it).
* ``batch``: the batch a spec is profiled with (default 1); given with ``input_shape``, the two must
  agree (the batch is the shape's first number).
* ``train``: training mode: a spec includes its auxiliary heads; a module runs in ``train()`` mode.

A ``pkg.module:attribute`` module is imported with the current directory on the import path, so
``archlens profile mymodels:tiny --input-shape 1,3,64,64`` works from the directory holding
``mymodels.py``. The attribute may be a function or class returning an ``nn.Module`` (called under
``torch.device("meta")``, so a model of any size costs no weight memory) or an ``nn.Module``
instance.

>>> resolve("googlenet", TargetOptions(input_shape=(2, 3, 112, 112))).input_shape
(2, 3, 112, 112)
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import sys
from dataclasses import dataclass
from typing import Any

from archlens.errors import ArchlensError, TargetError, did_you_mean
from archlens.spec import NetworkSpec, is_spec_path, load_spec

MODULE_TARGET = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
NEEDS_SHAPE = "module targets need --input-shape N,C,H,W"
SHAPE_HINT = "write it like 1,3,224,224"


@dataclass(frozen=True)
class TargetOptions:
    """The input options every command shares: ``--input-shape``, ``--batch``, ``--train``.

    ``batch`` None means not given: 1 for a spec, or the first number of ``input_shape``.
    """

    input_shape: tuple[int, ...] | None = None
    batch: int | None = None
    train: bool = False


@dataclass(frozen=True)
class SpecTarget:
    """A network spec with the input options applied: ``spec.input`` is the input profiled.

    ``source`` is the file the spec came from (errors name it), None for a built-in or a spec object.
    """

    spec: NetworkSpec
    batch: int = 1
    train: bool = False
    source: str | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        shape = self.spec.input
        return (self.batch, shape.channels, shape.height, shape.width)


@dataclass(frozen=True)
class ModuleTarget:
    """An ``nn.Module`` (or a callable returning one) and the input it runs on.

    ``label`` is how the user named it (``pkg.module:callable``), None for an object from Python.
    """

    module: Any
    input_shape: tuple[int, ...]
    train: bool = False
    label: str | None = None


Target = SpecTarget | ModuleTarget


def resolve(target: Any, options: TargetOptions = TargetOptions()) -> Target:
    """What ``target`` is, with ``options`` applied: a :class:`SpecTarget` or a :class:`ModuleTarget`.

    >>> resolve("alexnet").input_shape
    (1, 3, 227, 227)
    >>> resolve("alexnet", TargetOptions(batch=8, train=True)).input_shape
    (8, 3, 227, 227)

    Raises :class:`~archlens.errors.ArchlensError` for options that contradict each other or do not
    fit the target (a spec's input is N,C,H,W; a module target needs an input shape).
    """
    shape = options.input_shape
    if shape is not None and options.batch is not None and options.batch != shape[0]:
        text = ",".join(map(str, shape))
        raise ArchlensError(f"--batch {options.batch} and --input-shape {text} disagree",
                            hint="the batch is the first number of --input-shape; give one of them")
    if _names_a_module(target):
        return _module_target(load_target(target), target, options)
    if callable(target) and not isinstance(target, (str, os.PathLike, NetworkSpec, dict)):
        return _module_target(target, None, options)  # an nn.Module instance is callable too
    spec = load_spec(target)  # a name, a file, a spec or its data; anything else is a SpecError
    source = os.fspath(target) if isinstance(target, (str, os.PathLike)) and is_spec_path(target) else None
    if shape is not None:
        spec = with_input_shape(spec, shape)
    batch = shape[0] if shape is not None else options.batch or 1
    return SpecTarget(spec=spec, batch=batch, train=options.train, source=source)


def resolve_spec(target: Any, options: TargetOptions = TargetOptions(), *, needed_by: str,
                 hint: str | None = None) -> SpecTarget:
    """:func:`resolve` for what only a spec can do (``needed_by``: ``fit``, ``the Inception study``).

    A module target is refused before it is imported.

    >>> resolve_spec("mymodels:tiny", needed_by="fit")
    Traceback (most recent call last):
    archlens.errors.ArchlensError: fit needs a spec (a built-in name or a spec file), not 'mymodels:tiny'
    """
    if _names_a_module(target) or (callable(target) and not isinstance(target, (str, os.PathLike, NetworkSpec, dict))):
        raise ArchlensError(f"{needed_by} needs a spec (a built-in name or a spec file), not {target!r}", hint=hint)
    resolved = resolve(target, options)
    assert isinstance(resolved, SpecTarget)
    return resolved


def _names_a_module(target: Any) -> bool:
    """``pkg.module:attribute`` (and not an existing file, such as a Windows path)."""
    return isinstance(target, str) and bool(MODULE_TARGET.match(target)) and not os.path.exists(target)


def _module_target(module: Any, label: str | None, options: TargetOptions) -> ModuleTarget:
    if options.input_shape is None:
        raise TargetError(NEEDS_SHAPE, hint="from Python, pass input_shape=(1, 3, 224, 224)")
    return ModuleTarget(module=module, input_shape=tuple(options.input_shape), train=options.train, label=label)


def with_input_shape(spec: NetworkSpec, shape: tuple[int, ...]) -> NetworkSpec:
    """``spec`` with its input replaced by ``(N, C, H, W)`` (N is the batch, not part of the spec)."""
    if len(shape) != 4:
        raise ArchlensError(f"an input shape for a spec is N,C,H,W; got {','.join(map(str, shape))}")
    _, channels, height, width = shape
    return spec.model_copy(update={"input": spec.input.model_copy(update={
        "channels": channels, "height": height, "width": width})})


def parse_shape(text: str | None) -> tuple[int, ...] | None:
    """``"1,3,224,224"`` (or ``1x3x224x224``) -> ``(1, 3, 224, 224)``; None stays None.

    >>> parse_shape("1x3x64x64")
    (1, 3, 64, 64)
    """
    if text is None:
        return None
    try:
        shape = tuple(int(part) for part in text.replace("x", ",").split(","))
    except ValueError:
        raise ArchlensError(f"--input-shape {text!r} is not a list of integers", hint=SHAPE_HINT) from None
    if not shape or min(shape) < 1:
        raise ArchlensError(f"--input-shape {text!r} needs positive sizes", hint=SHAPE_HINT)
    return shape


def load_target(text: str) -> Any:
    """Import ``pkg.module:attr`` (``attr`` may be dotted) and return the attribute.

    >>> load_target("collections:OrderedDict").__name__
    'OrderedDict'
    """
    if not _names_a_module(text):
        raise TargetError(f"{text!r} is not a module target", hint="write it as package.module:callable")
    module_name, attribute = text.split(":", 1)
    try:
        cwd = os.getcwd()
    except FileNotFoundError:
        raise TargetError("the current folder no longer exists", where=text,
                          hint="cd into the folder that holds the module") from None
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    try:
        with contextlib.redirect_stdout(sys.stderr):  # the module's own prints must not mix into our stdout
            module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        missing = error.name or module_name
        if module_name == missing or module_name.startswith(missing + "."):
            raise TargetError(
                f"cannot import module {module_name!r}: no module named {missing!r}",
                where=text, hint=f"run archlens from the directory that contains it (now {cwd})",
            ) from error
        raise TargetError(f"importing {module_name!r} failed: it needs module {missing!r}, which is not installed",
                          where=text) from error
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # noqa: BLE001 - the user's module ran and raised (CancelledError too): one line
        first_line = (str(error).strip().splitlines() or [""])[0]
        raise TargetError(f"importing {module_name!r} raised {type(error).__name__}: {first_line}",
                          where=text) from error
    value: Any = module
    path = module_name
    for part in attribute.split("."):
        if not hasattr(value, part):
            names = [name for name in dir(value) if not name.startswith("_")]
            raise TargetError(f"{path!r} has no attribute {part!r}", where=text, hint=did_you_mean(part, names))
        value = getattr(value, part)
        path = f"{path}.{part}"
    import torch.nn as nn

    if not isinstance(value, nn.Module) and not callable(value):
        raise TargetError(f"{attribute!r} is a {type(value).__name__}, not an nn.Module or a callable returning one",
                          where=text)
    return value

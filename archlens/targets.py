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
* ``tokens``: the sequence length of a spec whose input is tokens (``input: {tokens: 128, vocab: ...}``):
  it replaces the spec's. An image input has none (give ``input_shape``).
* ``decode``: a decoding step of a spec with a token input: ``tokens`` new tokens (1 unless given)
  after a key-value cache of ``decode`` tokens; attention reads the cache, positions follow it.

``input_shape`` for a token spec is ``N,T`` (token ids), ``N,T,D`` (token features) or ``N,F``
(features), as the spec's input is.

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
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from archlens.errors import ArchlensError, SpecError, TargetError, did_you_mean

if TYPE_CHECKING:  # pragma: no cover
    from archlens.spec import NetworkSpec

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
    tokens: int | None = None
    decode: int | None = None
    inputs: Any = None
    """A module's inputs, as the torch engine takes them (several, typed, keyword: ``--input``)."""
    device: str = "meta"
    """Where a module runs: ``meta`` (no weights, no values) or ``cpu`` (for data-dependent ops)."""


@dataclass(frozen=True)
class SpecTarget:
    """A network spec with the input options applied: ``spec.input`` is the input profiled.

    ``source`` is the file the spec came from (errors name it), None for a built-in or a spec object.
    ``decode``: a decoding step after a key-value cache of that many tokens (``spec.input.tokens`` new ones).
    """

    spec: NetworkSpec
    batch: int = 1
    train: bool = False
    source: str | None = None
    decode: int | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def input_shape(self) -> tuple[int, ...]:
        """``(N, C, H, W)`` for an image, ``(N, T)`` for token ids, ``(N, T, D)`` or ``(N, F)``."""
        return tuple(self.spec.input.shape(self.batch))


@dataclass(frozen=True)
class ModuleTarget:
    """An ``nn.Module`` (or a callable returning one) and the input it runs on.

    ``label`` is how the user named it (``pkg.module:callable``), None for an object from Python.
    """

    module: Any
    input_shape: tuple[int, ...] | None
    train: bool = False
    label: str | None = None
    inputs: Any = None
    device: str = "meta"


Target = SpecTarget | ModuleTarget


DEVICES = ("meta", "cpu")
"""Where a module target runs: the meta device (shapes only, no weights) or the CPU (real random tensors)."""


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
    for option in ("tokens", "decode"):
        value = getattr(options, option)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < (option == "tokens")):
            least = "1" if option == "tokens" else "0"
            raise ArchlensError(f"--{option} must be an integer of at least {least}, got {value!r}")
    if options.device not in DEVICES:
        raise ArchlensError(f"unknown device {options.device!r}", hint=f"use one of {', '.join(DEVICES)}")
    module = _names_a_module(target) or _is_module_object(target)
    if not module and options.inputs is not None:
        raise ArchlensError("--input gives a module target's inputs; a spec's input is set by --input-shape",
                            hint="use --input-shape N,C,H,W (or --tokens and --batch for a token input)")
    if not module and options.device != "meta":
        raise ArchlensError(f"--device {options.device} applies to module targets (pkg.module:callable); a spec is "
                            "counted from its definition", hint="drop --device")
    if module and (options.tokens is not None or options.decode is not None):
        raise ArchlensError("--tokens and --decode apply to specs with a token input",
                            hint="a module target runs on --input-shape (token ids: its shape N,T)")
    if _names_a_module(target):
        return _module_target(load_target(target), target, options)
    if module:
        return _module_target(target, None, options)  # an nn.Module instance is callable too
    from archlens.spec import is_spec_path, load_spec  # not before: a module target never needs the spec language

    try:
        spec = load_spec(target)  # a name, a file, a spec or its data; anything else is a SpecError
    except SpecError as error:
        module = _python_module_named(target)
        if module is None:
            raise
        raise SpecError(error.message, where=error.where,
                        hint=f"{module} is a Python module: name the model in it as {module}:factory (a function "
                             "or class returning an nn.Module, or an instance) and give --input-shape N,C,H,W") from None
    source = os.fspath(target) if isinstance(target, (str, os.PathLike)) and is_spec_path(target) else None
    if shape is not None:
        spec = with_input_shape(spec, shape)
    if options.tokens is not None or options.decode is not None:
        spec = with_tokens(spec, options.tokens, options.decode, shape is not None)
    batch = shape[0] if shape is not None else options.batch or 1
    return SpecTarget(spec=spec, batch=batch, train=options.train, source=source, decode=options.decode)


def resolve_spec(target: Any, options: TargetOptions = TargetOptions(), *, needed_by: str,
                 hint: str | None = None) -> SpecTarget:
    """:func:`resolve` for what only a spec can do (``needed_by``: ``fit``, ``the Inception study``).

    A module target is refused before it is imported.

    >>> resolve_spec("mymodels:tiny", needed_by="fit")
    Traceback (most recent call last):
    archlens.errors.ArchlensError: fit needs a spec (a built-in name or a spec file), not 'mymodels:tiny'
    """
    if _names_a_module(target) or _is_module_object(target):
        raise ArchlensError(f"{needed_by} needs a spec (a built-in name or a spec file), not {target!r}", hint=hint)
    resolved = resolve(target, options)
    assert isinstance(resolved, SpecTarget)
    return resolved


def _is_module_object(target: Any) -> bool:
    """An ``nn.Module`` or a factory: callable (a spec, its data, a name or a path is not)."""
    return callable(target) and not isinstance(target, (str, os.PathLike, dict))


def _names_a_module(target: Any) -> bool:
    """``pkg.module:attribute`` (and not an existing file, such as a Windows path)."""
    return isinstance(target, str) and bool(MODULE_TARGET.match(target)) and not os.path.exists(target)


def _python_module_named(target: Any) -> str | None:
    """``target`` when it names a Python module (``mynets`` beside ``mynets.py``, an installed package)
    but no network: what someone wrote who meant ``mynets:factory``. Nothing is imported."""
    import importlib.util

    if not isinstance(target, str) or not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", target) \
            or os.path.exists(target):  # a folder or a file by that name: the spec error says what it is
        return None
    relative = os.path.join(*target.split("."))
    if os.path.isfile(relative + ".py") or os.path.isfile(os.path.join(relative, "__init__.py")):
        return target
    top = target.split(".")[0]
    try:
        found = importlib.util.find_spec(top) is not None  # a top-level name: finds, never imports
    except (ImportError, ValueError):
        found = False
    return target if found else None


def _module_target(module: Any, label: str | None, options: TargetOptions) -> ModuleTarget:
    if options.input_shape is not None and options.inputs is not None:
        raise ArchlensError("give --input-shape or --input, not both",
                            hint="--input-shape N,C,H,W is one float input; --input gives several, typed")
    if options.input_shape is None and options.inputs is None:
        raise TargetError(NEEDS_SHAPE, hint="or --input for several or typed inputs (from Python: "
                                            "input_shape=(1, 3, 224, 224) or inputs=...)")
    shape = tuple(options.input_shape) if options.input_shape is not None else None
    return ModuleTarget(module=module, input_shape=shape, train=options.train, label=label, inputs=options.inputs,
                        device=options.device)


def with_input_shape(spec: NetworkSpec, shape: tuple[int, ...]) -> NetworkSpec:
    """``spec`` with its input replaced by ``shape``, the batch first (not part of the spec): ``N,C,H,W`` for
    an image, ``N,T`` for token ids, ``N,T,D`` for token features, ``N,F`` for features."""
    kind = spec.input.kind
    forms = {"image": ("N,C,H,W", ("channels", "height", "width")), "ids": ("N,T", ("tokens",)),
             "tokens": ("N,T,D", ("tokens", "features")), "features": ("N,F", ("features",))}
    form, names = forms[kind]
    if len(shape) != len(names) + 1:
        what = {"image": "an image", "ids": "token ids", "tokens": "tokens", "features": "features"}[kind]
        raise ArchlensError(f"an input shape for {spec.name} ({what}) is {form}; got {','.join(map(str, shape))}")
    return spec.model_copy(update={"input": spec.input.model_copy(update=dict(zip(names, shape[1:])))})


def with_tokens(spec: NetworkSpec, tokens: int | None, decode: int | None, shaped: bool) -> NetworkSpec:
    """``spec`` with ``tokens`` tokens in its input (a decoding step: 1 unless given)."""
    if spec.input.kind not in ("ids", "tokens"):
        option = "--tokens" if tokens is not None else "--decode"
        raise ArchlensError(f"{option} applies to a token input; {spec.name}'s input is "
                            f"{'an image' if spec.input.kind == 'image' else 'flat features'}",
                            hint="give its input with --input-shape")
    if tokens is not None and shaped and tokens != spec.input.tokens:
        raise ArchlensError(f"--tokens {tokens} and --input-shape disagree",
                            hint="the tokens are the second number of --input-shape; give one of them")
    if tokens is None:  # a decoding step makes one token, unless --input-shape says how many
        tokens = 1 if decode is not None and not shaped else spec.input.tokens
    if tokens == spec.input.tokens:
        return spec
    return spec.model_copy(update={"input": spec.input.model_copy(update={"tokens": tokens})})


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


@contextlib.contextmanager
def user_code_errors(label: str | None) -> Iterator[None]:
    """Turn what the user's code raises past the engines' handlers (a ``BaseException`` that is neither
    an ``Exception`` nor an interrupt: ``asyncio.CancelledError``, ``SystemExit``, a class of its own)
    into a :class:`~archlens.errors.TargetError`: one line, exit 2, the original kept as ``__cause__``."""
    try:
        yield
    except (Exception, KeyboardInterrupt):
        raise
    except BaseException as error:  # noqa: BLE001 - the user's code; KeyboardInterrupt passed above
        text = str(error).strip()
        first = text.splitlines()[0] if text else "(no message)"
        raise TargetError(f"the module's code raised {type(error).__name__} (a BaseException): {first}",
                          where=label, hint="rerun with --debug to see where") from error

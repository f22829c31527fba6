"""Options every command shares, declared once (``Annotated`` aliases), and the enums behind them."""

from __future__ import annotations

import enum
import re
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from archlens.errors import ArchlensError
from archlens.units import TORCH_SIZE_LIMIT


def choices(name: str, values: tuple[str, ...]) -> Any:
    """A string enum of ``values`` (member name = value), the type of an option with fixed choices."""
    return enum.Enum(name, {value: value for value in values}, type=str)


Engine = choices("Engine", ("analytic", "torch", "fvcore"))
"""What counts: ``analytic`` (specs; no torch), ``torch`` (any module, on the meta device), ``fvcore``."""
TextFormat = choices("TextFormat", ("table", "csv", "json", "markdown"))
"""The formats of a command's text output (the registered renderers but ``html`` and ``text``)."""


MAX_SIZE = TORCH_SIZE_LIMIT
"""The largest size the command line takes (``--batch``, each ``--input-shape`` number): PyTorch's (and
C's) signed 64-bit limit. Spec files may hold larger sizes: the analytic engine counts in Python integers."""

TEXT_SUFFIXES = {".csv": "csv", ".json": "json", ".md": "markdown", ".markdown": "markdown"}

TargetArg = Annotated[str, typer.Argument(
    help="A built-in network name (archlens list), a spec file, or pkg.module:callable.")]
SpecArg = Annotated[str, typer.Argument(help="A built-in network name or a spec file.")]
FormatOpt = Annotated[Optional[TextFormat], typer.Option(
    "--format", "-f", help="Output format (default: from the -o file's suffix .csv/.json/.md, else table).")]
def output_path(text: str) -> Path:
    """``-o``'s value as a path; ``out/`` (a folder) is refused here, before pathlib drops the slash."""
    from archlens.outputs import refuse_a_folder_name

    refuse_a_folder_name(text)
    return Path(text)


OutputOpt = Annotated[Optional[Path], typer.Option(
    "--output", "-o", parser=output_path, help="Write to this file (atomically) instead of stdout.")]
TrainOpt = Annotated[bool, typer.Option("--train", help="Training mode: include the auxiliary heads.")]
InputShapeOpt = Annotated[Optional[str], typer.Option(
    "--input-shape", help="N,C,H,W, e.g. 1,3,224,224: replaces each spec's input; what a module target "
                          "(pkg.module:callable) runs on.")]
BatchOpt = Annotated[Optional[int], typer.Option(
    "--batch", min=1, max=MAX_SIZE, help="Batch size (default 1, or the first number of --input-shape).")]
TokensOpt = Annotated[Optional[int], typer.Option(
    "--tokens", min=1, max=MAX_SIZE, help="Sequence length of a spec with a token input (default: the spec's; with "
                                          "--decode, the new tokens: 1).")]
DecodeOpt = Annotated[Optional[int], typer.Option(
    "--decode", min=0, max=MAX_SIZE, help="One decoding step after a key-value cache of N tokens: its MACs, and the "
                                          "cache's bytes at --dtype.")]
EngineOpt = Annotated[Optional[Engine], typer.Option(
    "--engine", "-e", help="analytic (specs, default: no torch), torch (modules, default: real ops on the meta "
                           "device; specs are built on meta), fvcore (fvcore's figures; real CPU weights).")]
DtypeOpt = Annotated[str, typer.Option("--dtype", help="Activation (and KV cache) dtype for memory figures.")]
IsolateOpt = Annotated[Optional[bool], typer.Option(
    "--isolate/--no-isolate", help="Run in a child process that must report back: a crash or os._exit() in a module "
                                   "target's code is an error, never a silent exit (check: on for module targets).")]

Step = choices("Step", ("inference", "train"))
"""What a profile counts: the forward pass, or a whole training step (forward, backward, optimizer, memory)."""
Optimizer = choices("Optimizer", ("sgd", "momentum", "adam", "adamw"))
StepOpt = Annotated[Optional[Step], typer.Option(
    "--step", help="inference (default) or train: a training step (implies --train): backward MACs, the "
                   "optimizer's update and the memory of a step.")]
OptimizerOpt = Annotated[Optional[Optimizer], typer.Option(
    "--optimizer", help="A training step's optimizer (default adamw): sgd, momentum (SGD with momentum), adam, "
                        "adamw.")]
MixedPrecisionOpt = Annotated[bool, typer.Option(
    "--mixed-precision", help="A training step at --dtype with fp32 master weights and fp32 optimizer state.")]
FreezeOpt = Annotated[Optional[list[str]], typer.Option(
    "--freeze", help="Layers whose parameters get no gradient, by name pattern ('conv*', 'layer1'; repeatable).")]
CheckpointOpt = Annotated[Optional[list[str]], typer.Option(
    "--checkpoint", help="Blocks checkpointed in a training step, by name pattern ('layer*'; repeatable): they "
                         "keep their input only and run their forward again in the backward pass.")]
MaxTrainMacsOpt = Annotated[Optional[str], typer.Option(
    "--max-train-macs", help="At most this many MACs in a training step, forward and backward (5G); implies "
                             "--step train.")]
MaxTrainMemoryOpt = Annotated[Optional[str], typer.Option(
    "--max-train-memory", help="At most this many bytes at a training step's peak (24GiB); implies --step train.")]


def training_options(step: Optional[Any], optimizer: Optional[Any], mixed_precision: bool,
                     freeze: Optional[list[str]], checkpoint: Optional[list[str]], *,
                     implied: bool = False) -> dict[str, Any]:
    """The training-step options given, as :func:`archlens.profile` takes them (``implied``: a limit on a
    training step's figures asks for one)."""
    chosen = step.value if step is not None else ("train" if implied else None)
    return {"step": chosen, "optimizer": optimizer.value if optimizer is not None else None,
            "mixed_precision": mixed_precision, "freeze": tuple(freeze or ()), "checkpoint": tuple(checkpoint or ())}


MaxParamsOpt = Annotated[Optional[str], typer.Option("--max-params", help="At most this many parameters (7M).")]
MaxMacsOpt = Annotated[Optional[str], typer.Option("--max-macs", help="At most this many MACs (1.5G).")]
MaxFlopsOpt = Annotated[Optional[str], typer.Option("--max-flops", help="At most this many FLOPs (3G).")]
MaxActivationsOpt = Annotated[Optional[str], typer.Option(
    "--max-activations", help="At most this many bytes of layer outputs, summed (64MB, 64MiB).")]
MaxDepthOpt = Annotated[Optional[int], typer.Option(
    "--max-depth", min=1, help="At most this many layers with parameters on the longest path.")]
BlockOpt = Annotated[Optional[list[str]], typer.Option(
    "--block", help="A limit per block: 'inception_*:macs=200M[,params=1M]' (repeatable).")]


_SHAPE_TEXT = re.compile(r"\s*[0-9]+\s*(?:[,x]\s*[0-9]+\s*)*", re.ASCII)


def input_shape_of(text: Optional[str], option: str = "--input-shape") -> Optional[tuple[int, ...]]:
    """``--input-shape 1,3,224,224`` (or ``1x3x224x224``) -> ``(1, 3, 224, 224)`` (what it means:
    :mod:`archlens.targets`). ASCII digits only, each size from 1 to :data:`MAX_SIZE`; anything else is
    one line naming the option.

    >>> input_shape_of("1x3x64x64")
    (1, 3, 64, 64)
    """
    from archlens.errors import ArchlensError
    from archlens.targets import SHAPE_HINT, parse_shape

    if text is None:
        return None
    if not _SHAPE_TEXT.fullmatch(text):
        raise ArchlensError(f"{option} {shown(text)} is not a list of integers", hint=SHAPE_HINT)
    for size in re.split(r"[,x]", text):
        if len(size.strip().lstrip("0")) > len(str(MAX_SIZE)) or int(size) > MAX_SIZE:
            raise ArchlensError(f"{option} {shown(text)}: {shown(size.strip(), quote=False)} is larger than "
                                f"2^63 - 1 ({MAX_SIZE:,}), the largest size the command line takes",
                                hint="a spec file may hold larger sizes (the analytic engine counts them exactly)")
    return parse_shape(text)


def shown(text: str, *, limit: int = 40, quote: bool = True) -> str:
    """A value from the command line as an error shows it: quoted, cut to ``limit`` characters.

    >>> shown("1," + "9" * 60)
    "'1,99999999999999999999999999999999999999…'"
    """
    cut = text if len(text) <= limit else text[:limit] + "…"
    return repr(cut) if quote else cut


def engine_name(engine: Optional[Engine]) -> Optional[str]:
    return engine.value if engine is not None else None


def limits(max_params: Optional[str], max_macs: Optional[str], max_flops: Optional[str],
           max_activations: Optional[str], max_depth: Optional[int], max_train_macs: Optional[str] = None,
           max_train_memory: Optional[str] = None) -> dict[str, Any]:
    """The ``--max-*`` options given, by keyword (``{"max_macs": "1.5G"}``)."""
    given = {"max_params": max_params, "max_macs": max_macs, "max_flops": max_flops,
             "max_activations": max_activations, "max_depth": max_depth, "max_train_macs": max_train_macs,
             "max_train_memory": max_train_memory}
    return {key: value for key, value in given.items() if value is not None}


def blocks(block: Optional[list[str]]) -> list[dict[str, str]]:
    """``--block 'inception_*:macs=200M'`` options as block budgets."""
    from archlens.analysis.budget import parse_block_option

    return [parse_block_option(item) for item in block or ()]


# --- a module target's inputs, device and the strict check (issue: the torch engine's inputs) ---

InputOpt = Annotated[Optional[list[str]], typer.Option(
    "--input", help="A module's input, repeatable: SHAPE[:DTYPE] in order (1,128:int64), NAME=SHAPE[:DTYPE] by "
                    "keyword (attention_mask=1,128:int64); instead of --input-shape.")]
DeviceOpt = Annotated[str, typer.Option(
    "--device", help="Where a module runs: meta (no weights, default) or cpu (real random tensors, for ops "
                     "whose output depends on values: nonzero, nms).")]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Fail (exit 2) when any op is not counted.")]

INPUT_FORM = "write it SHAPE[:DTYPE] or NAME=SHAPE[:DTYPE], e.g. 1,128:int64 or attention_mask=1,128:int64"


def inputs_of(texts: Optional[list[str]]) -> Any:
    """``--input`` values as the torch engine's :class:`~archlens.counting.torch.Inputs` (None if none given)."""
    if not texts:
        return None
    from archlens.counting.torch import Inputs, TensorSpec

    positional, keyword = [], {}
    for text in texts:
        name, equals, rest = text.partition("=")
        if not equals:
            name, rest = "", text
        elif not name.isidentifier():
            raise ArchlensError(f"--input {shown(text)}: {shown(name)} is not a parameter name", hint=INPUT_FORM)
        shape_text, colon, dtype = rest.partition(":")
        if colon and not dtype:
            raise ArchlensError(f"--input {shown(text)} has ':' but no dtype", hint=INPUT_FORM)
        shape = input_shape_of(shape_text, "--input") if shape_text else None
        if shape is None:
            raise ArchlensError(f"--input {shown(text)} has no shape", hint=INPUT_FORM)
        value = TensorSpec(shape, dtype or None)
        if name:
            if name in keyword:
                raise ArchlensError(f"--input {name}= is given twice", hint=INPUT_FORM)
            keyword[name] = value
        elif keyword:
            raise ArchlensError(f"--input {shown(text)}: inputs in order come before inputs by name", hint=INPUT_FORM)
        else:
            positional.append(value)
    return Inputs(*positional, **keyword)

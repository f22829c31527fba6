"""Commands about one network: ``list``, ``show``, ``validate``, ``profile``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from archlens.cli.app import app
from archlens.cli.options import (
    TEXT_SUFFIXES,
    BatchOpt,
    CheckpointOpt,
    DecodeOpt,
    DeviceOpt,
    DtypeOpt,
    EngineOpt,
    FormatOpt,
    FreezeOpt,
    InputOpt,
    InputShapeOpt,
    IsolateOpt,
    MixedPrecisionOpt,
    OptimizerOpt,
    OutputOpt,
    SpecArg,
    StepOpt,
    StrictOpt,
    TargetArg,
    TextFormat,
    TokensOpt,
    TrainOpt,
    engine_name,
    input_shape_of,
    inputs_of,
    training_options,
)
from archlens.cli.output import emit, format_of
from archlens.errors import ArchlensError
from archlens.cli.isolation import isolate_command

DepthOpt = Annotated[Optional[int], typer.Option(
    "--depth", "-d", min=0, help="Sum layers up to N name levels (1: top-level blocks). 0: every layer. "
                                 "Default: 1 for table and markdown, every layer for csv and json.")]
PaperOpt = Annotated[bool, typer.Option(
    "--paper", help="Show the GoogLeNet paper's Table 1 beside our figures (paper units: weights in K = 1024, "
                    "ops in M).")]


@app.command("list")
def list_command() -> None:
    """List the built-in networks with a one-line description each."""
    from archlens.spec import list_specs

    infos = list_specs()
    width = max(len(info.name) for info in infos)
    sys.stdout.write("".join(f"{info.name:<{width}}  {info.description}\n" for info in infos))


@app.command("show")
def show_command(target: SpecArg, output: OutputOpt = None) -> None:
    """Print the expanded spec (macros turned into primitives, aux heads kept) as YAML; it loads back
    as the same network, in both modes."""
    from archlens.spec import dump_yaml, expand, load_spec

    emit(dump_yaml(expand(load_spec(target))), output)


@app.command("validate")
def validate_command(
    files: Annotated[list[Path], typer.Argument(help="Spec files to check.")],
) -> None:
    """Check spec files: exit 0 if all are valid, else 2 with one line per problem."""
    from archlens.counting.analytic import profile_spec
    from archlens.errors import SpecError
    from archlens.spec import load_spec

    problems: list[str] = []
    for file in files:
        try:
            spec = load_spec(file)
            profile_spec(spec, train=True)  # shapes must work too, aux heads included
        except SpecError as error:
            problems.extend(error.problems)
        except ArchlensError as error:
            problems.append(f"{file}: {error}")
        else:
            typer.echo(f"{file}: ok ({spec.name})")
    if problems:
        raise SpecError.from_problems(problems)


@app.command("profile")
def profile_command(
    target: TargetArg,
    format: FormatOpt = None,
    depth: DepthOpt = None,
    train: TrainOpt = False,
    engine: EngineOpt = None,
    input_shape: InputShapeOpt = None,
    batch: BatchOpt = None,
    tokens: TokensOpt = None,
    decode: DecodeOpt = None,
    dtype: DtypeOpt = "float32",
    input: InputOpt = None,
    device: DeviceOpt = "meta",
    strict: StrictOpt = False,
    output: OutputOpt = None,
    paper: PaperOpt = False,
    step: StepOpt = None,
    optimizer: OptimizerOpt = None,
    mixed_precision: MixedPrecisionOpt = False,
    freeze: FreezeOpt = None,
    checkpoint: CheckpointOpt = None,
    isolate: IsolateOpt = None,
) -> None:
    """Profile a network: per-layer parameters, MACs, other ops and activations, with totals; with --step train,
    a training step: forward and backward MACs, the optimizer's ops, and memory (params, grads, optimizer state,
    saved activations, peak)."""
    isolate_command(isolate, [target])
    chosen = format or TextFormat(format_of(output, TEXT_SUFFIXES, default="table"))
    from archlens.profiler import profile

    shape = input_shape_of(input_shape)
    if paper:
        training = step is not None or optimizer is not None or mixed_precision or freeze or checkpoint
        if (shape is not None or batch is not None or train or engine is not None or tokens or decode is not None
                or input or training):
            raise ArchlensError("--paper compares Table 1 with the spec as published (224x224, batch 1, inference)",
                                hint="drop --input-shape, --batch, --train, --step and --engine")
        from archlens.analysis.table1 import reproduce_table1

        emit(reproduce_table1(target).render(chosen.value), output)
        return
    training = training_options(step, optimizer, mixed_precision, freeze, checkpoint)
    if paper and training["step"] is not None:
        raise ArchlensError("--paper reproduces Table 1 (inference)", hint="drop --step")
    result = profile(target, engine=engine_name(engine), batch=batch, train=train, dtype=dtype, input_shape=shape,
                     tokens=tokens, decode=decode, inputs=inputs_of(input), device=device, strict=strict, **training)
    emit(render_profile(result, chosen, depth), output)


def render_profile(result, format: TextFormat, depth: Optional[int]) -> str:
    """Render a profile in ``format``; ``depth`` None means the format's default, 0 every layer."""
    human = format in (TextFormat.table, TextFormat.markdown)
    chosen = (1 if human else None) if depth is None else (None if depth == 0 else depth)
    return result.render(format.value, depth=chosen)

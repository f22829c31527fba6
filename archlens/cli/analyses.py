"""Commands that analyse networks: ``compare``, ``inception``, ``claims``, ``check``, ``fit``."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from archlens.cli.app import app
from archlens.cli.options import (
    TEXT_SUFFIXES,
    BatchOpt,
    BlockOpt,
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
    MaxActivationsOpt,
    MaxDepthOpt,
    MaxFlopsOpt,
    MaxMacsOpt,
    MaxParamsOpt,
    MaxTrainMacsOpt,
    MaxTrainMemoryOpt,
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
    blocks,
    choices,
    engine_name,
    input_shape_of,
    inputs_of,
    limits,
    training_options,
)
from archlens.cli.output import emit, format_of
from archlens.cli.isolation import isolate_command


def text_format(format: Optional[TextFormat], output) -> TextFormat:
    """The format asked for, else the one ``-o``'s suffix names (``.csv``, ``.json``, ``.md``), else table."""
    return format or TextFormat(format_of(output, TEXT_SUFFIXES, default="table"))


@app.command("compare")
def compare_command(
    targets: Annotated[list[str], typer.Argument(help="Networks to compare; the first is the baseline for ratios.")],
    format: FormatOpt = None,
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
    step: StepOpt = None,
    optimizer: OptimizerOpt = None,
    mixed_precision: MixedPrecisionOpt = False,
    freeze: FreezeOpt = None,
    checkpoint: CheckpointOpt = None,
    output: OutputOpt = None,
    isolate: IsolateOpt = None,
) -> None:
    """Compare networks side by side: params, MACs, FLOPs, other ops, activations, depth, accuracy, ratios (with
    --step train: backward MACs, training-step MACs, saved activations and peak memory)."""
    isolate_command(isolate, targets)
    chosen = text_format(format, output)
    from archlens.analysis.compare import comparison

    result = comparison(targets, train=train, engine=engine_name(engine), input_shape=input_shape_of(input_shape),
                        batch=batch, tokens=tokens, decode=decode, dtype=dtype, inputs=inputs_of(input),
                        device=device, strict=strict, **training_options(step, optimizer, mixed_precision, freeze, checkpoint))
    emit(result.render(chosen.value), output)


StudyPart = choices("StudyPart", ("all", "modules", "cascade"))


@app.command("inception")
def inception_command(
    target: Annotated[str, typer.Argument(help="A network with Inception modules (built-in name or spec file).")]
    = "googlenet",
    format: FormatOpt = None,
    part: Annotated[Optional[StudyPart], typer.Option(
        "--part", help="modules, cascade or all (default: all; csv: modules).")] = None,
    output: OutputOpt = None,
) -> None:
    """Naive vs reduced Inception modules: each module on the same input, then the whole-network cascade."""
    chosen = text_format(format, output)
    from archlens.analysis.inception import inception_study

    study = inception_study(target)
    shown = (part or (StudyPart.modules if chosen is TextFormat.csv else StudyPart.all)).value
    emit(study.render(chosen.value, **({} if chosen is TextFormat.json else {"part": shown})), output)


@app.command("claims")
def claims_command(format: FormatOpt = None, output: OutputOpt = None) -> None:
    """The GoogLeNet paper's quantitative claims, each with the measured figure and a verdict."""
    chosen = text_format(format, output)
    from archlens.analysis.claims import paper_claims

    emit(paper_claims().render(chosen.value), output)


@app.command("check")
def check_command(
    target: TargetArg,
    max_params: MaxParamsOpt = None,
    max_macs: MaxMacsOpt = None,
    max_flops: MaxFlopsOpt = None,
    max_activations: MaxActivationsOpt = None,
    max_depth: MaxDepthOpt = None,
    max_train_macs: MaxTrainMacsOpt = None,
    max_train_memory: MaxTrainMemoryOpt = None,
    block: BlockOpt = None,
    train: TrainOpt = False,
    batch: BatchOpt = None,
    tokens: TokensOpt = None,
    decode: DecodeOpt = None,
    dtype: DtypeOpt = "float32",
    engine: EngineOpt = None,
    input_shape: InputShapeOpt = None,
    input: InputOpt = None,
    device: DeviceOpt = "meta",
    strict: StrictOpt = False,
    step: StepOpt = None,
    optimizer: OptimizerOpt = None,
    mixed_precision: MixedPrecisionOpt = False,
    freeze: FreezeOpt = None,
    checkpoint: CheckpointOpt = None,
    format: FormatOpt = None,
    output: OutputOpt = None,
    isolate: IsolateOpt = None,
) -> None:
    """Hold a network to a budget (options and the spec's budget: section). Exit 0 within, 1 over, 2 bad input.
    A module target runs in a child process (--no-isolate: in this one), so a check that did not finish
    its measurement never exits 0."""
    isolate_command(isolate, [target], fail_closed=True)
    chosen = text_format(format, output)
    from archlens.analysis.budget import check

    report = check(target, **limits(max_params, max_macs, max_flops, max_activations, max_depth, max_train_macs,
                                    max_train_memory),
                   blocks=blocks(block), train=train, batch=batch, dtype=dtype, engine=engine_name(engine),
                   input_shape=input_shape_of(input_shape), tokens=tokens, decode=decode, inputs=inputs_of(input),
                   device=device, strict=strict, **training_options(step, optimizer, mixed_precision, freeze,
                                                                    checkpoint))
    emit(report.render(chosen.value), output)
    if not report.ok:
        raise typer.Exit(1)


Vary = choices("Vary", ("width", "resolution", "depth"))
FitFormat = choices("FitFormat", ("yaml", "json"))


@app.command("fit")
def fit_command(
    target: SpecArg,
    vary: Annotated[Vary, typer.Option("--vary", help="What to scale: channel width, input resolution, or depth "
                                                      "(repeat counts: a transformer's layers).")]
    = Vary.width,
    max_params: MaxParamsOpt = None,
    max_macs: MaxMacsOpt = None,
    max_flops: MaxFlopsOpt = None,
    max_activations: MaxActivationsOpt = None,
    max_depth: MaxDepthOpt = None,
    max_train_macs: MaxTrainMacsOpt = None,
    max_train_memory: MaxTrainMemoryOpt = None,
    block: BlockOpt = None,
    divisor: Annotated[int, typer.Option("--divisor", min=1, help="Round channels (or the input size) to a "
                                                                  "multiple of this.")] = 8,
    train: TrainOpt = False,
    batch: BatchOpt = None,
    dtype: DtypeOpt = "float32",
    optimizer: OptimizerOpt = None,
    mixed_precision: MixedPrecisionOpt = False,
    format: Annotated[FitFormat, typer.Option("--format", "-f", help="yaml: the fitted spec; json: the spec "
                                                                      "and the check.")] = FitFormat.yaml,
    output: OutputOpt = None,
) -> None:
    """Find the widest (or largest-input) variant within budget and write its spec. Exit 1 if none fits."""
    from archlens.analysis.fit import fit

    result = fit(target, vary=vary.value, **limits(max_params, max_macs, max_flops, max_activations, max_depth,
                                                   max_train_macs, max_train_memory),
                 blocks=blocks(block), divisor=divisor, train=train, batch=batch or 1, dtype=dtype,
                 optimizer=optimizer.value if optimizer is not None else None, mixed_precision=mixed_precision)
    summary = [str(line) for line in result.summary()]
    for line in summary:
        typer.echo(line, err=True)
    if format is FitFormat.json:
        emit(result.to_json(), output)
    else:  # the spec, headed by comment lines saying how it was found
        emit(result.to_yaml(header=True), output)

"""Commands that draw: ``graph`` (graphviz) and ``report`` (an HTML page, or Markdown with SVG images)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from archlens.cli.app import app
from archlens.cli.options import (
    CheckpointOpt,
    DeviceOpt,
    DtypeOpt,
    EngineOpt,
    FreezeOpt,
    InputOpt,
    InputShapeOpt,
    MaxActivationsOpt,
    MaxDepthOpt,
    MaxFlopsOpt,
    MaxMacsOpt,
    MaxParamsOpt,
    MixedPrecisionOpt,
    OptimizerOpt,
    StepOpt,
    StrictOpt,
    TrainOpt,
    training_options,
    choices,
    engine_name,
    input_shape_of,
    inputs_of,
    limits,
    output_path,
)
from archlens.cli.output import emit, format_of

GRAPH_SUFFIXES = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".gv": "dot"}
REPORT_SUFFIXES = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md"}


GraphFormat = choices("GraphFormat", ("svg", "png", "pdf", "dot"))
ColorBy = choices("ColorBy", ("macs", "params", "none"))
ReportFormat = choices("ReportFormat", ("html", "md"))


@app.command("graph")
def graph_command(
    targets: Annotated[list[str], typer.Argument(help="One network, or several drawn side by side.")],
    output: Annotated[Path, typer.Option("--output", "-o", parser=output_path,
                                         help="The file to write (.svg, .png, .pdf or .dot).")],
    format: Annotated[Optional[GraphFormat], typer.Option("--format", "-f",
                                                          help="Default: from the output file's suffix.")] = None,
    depth: Annotated[Optional[int], typer.Option("--depth", "-d", min=0,
                                                 help="Draw groups N name levels down as one node "
                                                      "(1: top-level blocks). Default or 0: every layer.")] = None,
    color: Annotated[ColorBy, typer.Option("--color", help="Shade nodes by their MACs or params.")] = ColorBy.macs,
    block: Annotated[Optional[str], typer.Option("--block", help="Draw only this block (e.g. inception_3a).")] = None,
    fold: Annotated[bool, typer.Option("--fold/--no-fold", help="Draw a repeat of 3 blocks or more as its first "
                                       "block and one node for the rest (default), or every block.")] = True,
    train: TrainOpt = False,
    engine: EngineOpt = None,
    input_shape: InputShapeOpt = None,
    input: InputOpt = None,
    device: DeviceOpt = "meta",
) -> None:
    """Draw a network with graphviz: layers with kind, output shape, params and MACs; blocks as clusters;
    residual shortcuts as skips."""
    from archlens.render import graph
    from archlens.report import profile_targets

    fmt = format.value if format is not None else format_of(output, GRAPH_SUFFIXES, names=".svg, .png, .pdf or .dot")
    profiled = profile_targets(targets, train=train, engine=engine_name(engine), input_shape=input_shape_of(input_shape),
                               inputs=inputs_of(input), device=device)
    dot_text = graph.to_dot([graph.graph_of(item.profile, item.spec, depth=depth or None, color=color.value,
                                            block=block, fold=fold) for item in profiled])
    try:
        data = graph.render(dot_text, fmt)
    except graph.GraphvizMissing:
        from archlens.outputs import write_atomic

        written = write_atomic(output.with_suffix(".dot"), dot_text)
        raise graph.GraphvizMissing(
            f"graphviz's `dot` is not installed, so wrote {written} instead of {output}",
            hint=graph.INSTALL_HINT + ", then rerun",
        ) from None
    emit(data, output)


@app.command("report")
def report_command(
    targets: Annotated[list[str], typer.Argument(help="One network, or several to compare (the first is the baseline).")],
    output: Annotated[Path, typer.Option("--output", "-o", parser=output_path, help="The report file: NAME.html, or NAME.md "
                                                                "(SVG images go in a folder NAME/ beside it).")],
    format: Annotated[Optional[ReportFormat], typer.Option("--format", "-f",
                                                           help="html or md. Default: from the suffix.")] = None,
    title: Annotated[Optional[str], typer.Option("--title", help="The report's title.")] = None,
    train: TrainOpt = False,
    max_params: MaxParamsOpt = None,
    max_macs: MaxMacsOpt = None,
    max_flops: MaxFlopsOpt = None,
    max_activations: MaxActivationsOpt = None,
    max_depth: MaxDepthOpt = None,
    engine: EngineOpt = None,
    input_shape: InputShapeOpt = None,
    dtype: DtypeOpt = "float32",
    input: InputOpt = None,
    device: DeviceOpt = "meta",
    strict: StrictOpt = False,
    step: StepOpt = None,
    optimizer: OptimizerOpt = None,
    mixed_precision: MixedPrecisionOpt = False,
    freeze: FreezeOpt = None,
    checkpoint: CheckpointOpt = None,
) -> None:
    """Write a report: one self-contained HTML page (works offline), or Markdown with SVG images."""
    from archlens.report import build_report

    fmt = format.value if format is not None else format_of(output, REPORT_SUFFIXES, names=".html or .md")
    with report_progress(len(targets)) as progress:
        report = build_report(targets, title=title, train=train,
                              limits=limits(max_params, max_macs, max_flops, max_activations, max_depth),
                              engine=engine_name(engine), input_shape=input_shape_of(input_shape),
                              dtype=dtype, inputs=inputs_of(input), device=device, strict=strict, progress=progress,
                              **report_step(training_options(step, optimizer, mixed_precision, freeze, checkpoint)))
        if fmt == "html":
            from archlens.outputs import write_atomic
            from archlens.render.formats import encodable
            from archlens.render.html import render_html

            page = encodable(render_html(report, progress=progress))
            progress(f"write {output.name}")
            write_atomic(output, page)
            images = ""
        else:
            from archlens.render.markdown_report import render_markdown_report
            from archlens.render.report_files import write_markdown_report

            files = render_markdown_report(report, output.name, progress=progress)
            progress(f"write {output.name}")
            write_markdown_report(output, files)  # the .md and its images as one: the old report survives a failure
            written = list(files)[1:]
            images = f" and {len(written)} images in {output.parent / Path(written[0]).parent}/" if written else ""
    typer.echo(f"wrote {output}{images}", err=True)


def report_step(options: dict) -> dict:
    """The training-step options as :func:`archlens.report.build_report` takes them (``step_kind``)."""
    return {("step_kind" if key == "step" else key): value for key, value in options.items()}


def report_progress(networks: int):
    """A progress bar on stderr while a multi-network report is built (a terminal only); yields a step callback."""
    import contextlib

    if networks < 2 or not sys.stderr.isatty():
        return contextlib.nullcontext(lambda _step: None)
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    @contextlib.contextmanager
    def bar():
        # profile each, compare, diff, study, claims, (Markdown: study figures,) draw each network, write
        # markup=False: a step names a network, whose name is the user's text ("[/bold]" would raise, and
        # "[link=...]googlenet[/link]" show a link); the terminal gets it as written
        progress = Progress(TextColumn("{task.description:<28}", markup=False), BarColumn(), TimeElapsedColumn(),
                            console=Console(stderr=True), transient=True)
        with progress:
            task = progress.add_task("report", total=2 * networks + 6)

            def step(name: str) -> None:
                progress.update(task, advance=1, description=name)

            yield step

    return bar()

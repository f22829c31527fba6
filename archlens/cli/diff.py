"""The ``diff`` command: two networks layer by layer (specs, fitted specs, modules)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from archlens.cli.app import app
from archlens.cli.options import (
    TEXT_SUFFIXES,
    BatchOpt,
    DtypeOpt,
    EngineOpt,
    InputShapeOpt,
    OutputOpt,
    TrainOpt,
    choices,
    engine_name,
    input_shape_of,
)
from archlens.cli.output import emit, format_of

DiffFormat = choices("DiffFormat", ("table", "csv", "json", "markdown", "html"))
"""The text formats, and html: the table as a small self-contained page."""
DIFF_SUFFIXES = {**TEXT_SUFFIXES, ".html": "html", ".htm": "html"}
DiffFormatOpt = Annotated[Optional[DiffFormat], typer.Option(
    "--format", "-f", help="Output format (default: from the -o file's suffix .csv/.json/.md/.html, else table).")]

DiffDepthOpt = Annotated[Optional[int], typer.Option(
    "--depth", "-d", min=0, help="Match layers summed up to N name levels (default 1: top-level blocks). "
                                 "0: every layer.")]
AllOpt = Annotated[bool, typer.Option(
    "--all", help="List the rows that are the same in both too (table and markdown; csv and json list every row).")]


@app.command("diff")
def diff_command(
    a: Annotated[str, typer.Argument(help="Network A: a built-in name, a spec file (a fitted one too), or "
                                          "pkg.module:callable.")],
    b: Annotated[str, typer.Argument(help="Network B, compared with A.")],
    depth: DiffDepthOpt = None,
    all_rows: AllOpt = False,
    format: DiffFormatOpt = None,
    train: TrainOpt = False,
    engine: EngineOpt = None,
    input_shape: InputShapeOpt = None,
    batch: BatchOpt = None,
    dtype: DtypeOpt = "float32",
    output: OutputOpt = None,
) -> None:
    """What changed from A to B, layer by layer: matched by name (by position where names differ), with
    params, MACs and shapes on both sides, the change, the totals and the layers one side lacks."""
    chosen = format or DiffFormat(format_of(output, DIFF_SUFFIXES, default="table"))
    from archlens.analysis.diff import diff

    result = diff(a, b, depth=1 if depth is None else (None if depth == 0 else depth), train=train, batch=batch,
                  dtype=dtype, engine=engine_name(engine), input_shape=input_shape_of(input_shape))
    shown = {"show": "all" if all_rows else "changed"}
    if chosen is DiffFormat.html:
        from archlens.render.html import result_page

        emit(result_page(result, f"{result.a.name} → {result.b.name}", **shown), output)
    elif chosen in (DiffFormat.table, DiffFormat.markdown):
        emit(result.render(chosen.value, **shown), output)
    else:
        emit(result.render(chosen.value), output)

"""The Typer application every command module registers with."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(
    name="archlens",
    help="Count what a CNN architecture costs: exact parameters and multiply-accumulates, layer by layer.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
) -> None:
    """archlens: exact parameters and MACs of CNN architectures, with the conventions stated."""

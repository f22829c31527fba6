"""Where a command's output goes, and which format a file's suffix names."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from archlens.errors import ArchlensError


def format_of(output: Optional[Path], suffixes: dict[str, str], *, default: Optional[str] = None,
              names: str = "") -> str:
    """The format ``output``'s suffix names (``suffixes``: ``{".csv": "csv", ...}``), else ``default``;
    with no default, an unknown suffix is an error asking for ``--format`` (``names``: the suffixes to use)."""
    suffix = output.suffix.lower() if output is not None else ""
    if suffix in suffixes:
        return suffixes[suffix]
    if default is not None:
        return default
    raise ArchlensError(f"cannot tell the format of {str(output)!r} from its suffix",
                        hint=f"name it {names}, or give --format")


def emit(text: "str | bytes", output: Optional[Path]) -> None:
    """Write command output to ``output`` atomically, or to stdout (no ``-o``, or ``-o -``)."""
    if output is None or str(output) == "-":
        if isinstance(text, bytes):
            sys.stdout.flush()
            sys.stdout.buffer.write(text)
        else:
            sys.stdout.write(text)
        return
    from archlens.outputs import write_atomic

    written = write_atomic(output, text)
    typer.echo(f"wrote {written}", err=True)

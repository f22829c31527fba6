"""The README's table of built-in networks, made from the specs themselves (a test keeps it current).

    python docs/builtin_table.py          # prints the table
    python docs/builtin_table.py --write  # rewrites it in README.md, between its two markers
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- builtin table: start -->", "<!-- builtin table: end -->"


def short(description: str, limit: int = 120) -> str:
    """The description's first clause: up to its first ':' or ';', at most ``limit`` characters."""
    text = " ".join(description.split())
    cut = min([i for i in (text.find(": "), text.find("; ")) if i > 20] or [len(text)])
    text = text[:cut].rstrip(".")
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def table() -> str:
    import archlens
    from archlens.spec import list_specs

    rows = ["| name | what it is | input | params | MACs |", "|---|---|---|---:|---:|"]
    for info in list_specs():
        spec = archlens.load_spec(info.name)
        totals = archlens.profile(spec).totals
        shape = "x".join(map(str, archlens.profile(spec).input_shape[1:]))
        rows.append(f"| `{info.name}` | {short(info.description)} | {shape} | {totals.params:,} | {totals.macs:,} |")
    return "\n".join(rows) + "\n"


def readme_table(text: str) -> str:
    match = re.search(re.escape(START) + r"\n(.*?)" + re.escape(END), text, re.S)
    if match is None:
        raise SystemExit(f"README.md has no {START} ... {END} markers")
    return match[1]


if __name__ == "__main__":
    made = table()
    if "--write" in sys.argv:
        text = README.read_text()
        start = text.index(START) + len(START) + 1
        README.write_text(text[:start] + made + text[text.index(END):])
    else:
        sys.stdout.write(made)

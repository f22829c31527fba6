"""The Table 1 reproduction as a terminal table, Markdown, CSV and JSON."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from archlens.analysis.table1 import Table1, Table1Row
from archlens.units import format_int

HEADER = ["Table 1 row", "Patch/stride", "Output (paper)", "Output (ours)", "Depth", "Params paper (K)",
          "Params ours (K)", "Diff (K)", "Ops paper (M)", "Ops ours (M)", "Diff (M)", "Verdict"]
ALIGN = "lllllrrrrrrl"

UNITS_NOTE = (
    "Paper units: params are weights only (no biases), K = 1024; ops are multiply-adds in millions. "
    "Verdict: match = within the printed rounding; rounding = one printed unit off; differs = more "
    "(see the README's Table 1 section for each disagreement)."
)


def _shape(shape: tuple[int, int, int]) -> str:
    return "x".join(map(str, shape))


def _number(value: float | None, decimals: int) -> str:
    return "" if value is None else f"{value:,.{decimals}f}"


def _diff(value: float | None, decimals: int) -> str:
    return "" if value is None else f"{value:+,.{decimals}f}"


def note(row: Table1Row) -> str:
    """Why a flagged row differs, in words, from the numbers alone."""
    if row.verdict != "differs":
        return ""
    if row.output != row.paper.output or row.depth != row.paper.depth:
        return "output size or depth differs"
    if row.params_agree:
        return "ops differ from the channel arithmetic"
    if row.ops_agree and not row.paper_self_consistent:
        return (f"printed params imply {row.paper_implied_ops_m:,.1f}M ops, not the printed "
                f"{row.paper.ops_m:g}M; our ops match the printed ops, so the params figure is the odd one out")
    if row.ops_agree:
        height, width, _ = row.output
        extra = round(row.params_diff_k * 1024)
        more = "more" if extra > 0 else "fewer"
        return (f"the channel numbers give {abs(extra):,} {more} weights than printed; at {height}x{width} that is "
                f"{abs(extra) * height * width / 10**6:.2f}M ops, too few to show in the printed ops")
    if row.paper_self_consistent:
        return (f"printed params and ops agree with each other, but the printed channel numbers give "
                f"{format_int(row.weights)} weights ({row.params_k:,.1f}K) and {row.ops_m:,.1f}M ops")
    return "params and ops both differ from the channel arithmetic, and from each other"


def rows(table: Table1) -> list[list[str]]:
    body = []
    for row in table.rows:
        has_params = row.paper.params_k is not None
        body.append([
            row.paper.type,
            row.paper.patch_stride,
            _shape(row.paper.output),
            _shape(row.output),
            f"{row.paper.depth} / {row.depth}",
            _number(row.paper.params_k, 1 if has_params and row.paper.params_k != int(row.paper.params_k) else 0),
            _number(row.params_k, 1) if (has_params or row.weights) else "",
            _diff(row.params_diff_k, 1),
            _number(row.paper.ops_m, 0),
            _number(row.ops_m, 1) if (row.paper.ops_m is not None or row.macs) else "",
            _diff(row.ops_diff_m, 1),
            row.verdict,
        ])
    body.append([
        "sum of the column", "", "", "", "", f"{table.printed_params_k:,.1f}", f"{table.weights / 1024:,.1f}",
        f"{table.weights / 1024 - table.printed_params_k:+,.1f}", f"{table.printed_ops_m:,.0f}",
        f"{table.macs / 10**6:,.1f}", f"{table.macs / 10**6 - table.printed_ops_m:+,.1f}", "",
    ])
    return body


def notes(table: Table1) -> list[str]:
    return [f"{row.paper.type}: {note(row)}" for row in table.rows if note(row)]


def render_table1_text(table: Table1) -> str:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    grid = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name, align in zip(HEADER, ALIGN):
        grid.add_column(name, justify="right" if align == "r" else "left", no_wrap=True)
    for line in rows(table):
        grid.add_row(*line)
    buffer = io.StringIO()
    console = Console(file=buffer, width=240, color_system=None, highlight=False, force_terminal=False)
    console.print(f"GoogLeNet paper, Table 1, reproduced on `{table.network}`", soft_wrap=True)
    console.print(grid)
    for line in notes(table):
        console.print(f"- {line}", soft_wrap=True)
    console.print(UNITS_NOTE, soft_wrap=True)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"


def render_table1_markdown(table: Table1) -> str:
    from archlens.render.text import markdown_table, markdown_text

    text = f"### GoogLeNet paper, Table 1, reproduced on {markdown_text(table.network)}\n\n"
    text += markdown_table(HEADER, rows(table), ALIGN)
    text += "\n" + "".join(f"- {line}\n" for line in notes(table))
    return text + f"\n_{UNITS_NOTE}_\n"


def table1_dict(table: Table1) -> dict[str, Any]:
    return {
        "network": table.network,
        "units": {"params": "weights only, K = 1024", "ops": "multiply-adds, M = 10^6"},
        "rows": [
            {
                "type": row.paper.type,
                "patch_stride": row.paper.patch_stride,
                "layers": list(row.paper.layers),
                "output_paper": list(row.paper.output),
                "output": list(row.output),
                "depth_paper": row.paper.depth,
                "depth": row.depth,
                "params_paper_k": row.paper.params_k,
                "weights": row.weights,
                "ops_paper_m": row.paper.ops_m,
                "macs": row.macs,
                "paper_self_consistent": row.paper_self_consistent,
                "verdict": row.verdict,
            }
            for row in table.rows
        ],
        "sums": {"params_paper_k": round(table.printed_params_k, 1), "weights": table.weights,
                 "ops_paper_m": table.printed_ops_m, "macs": table.macs},
    }


def render_table1_json(table: Table1) -> str:
    return json.dumps(table1_dict(table), indent=2, ensure_ascii=False) + "\n"


def render_table1_csv(table: Table1) -> str:
    records = table1_dict(table)["rows"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(records[0]), lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({k: ("x".join(map(str, v)) if isinstance(v, list) and k.startswith("output")
                             else "+".join(v) if isinstance(v, list) else ("" if v is None else v))
                         for k, v in record.items()})
    return buffer.getvalue()

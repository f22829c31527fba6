"""Profiles as text: a rich terminal table, CSV, Markdown, and HTML for notebooks.

Small pure functions from a :class:`~archlens.counting.records.Profile` to text. JSON lives on the
profile itself (:meth:`Profile.to_json`); every format here is byte-identical for the same input.
"""

from __future__ import annotations

import csv
import html
import io
from typing import Any

from archlens.counting.records import LayerStats, Profile
from archlens.units import format_bytes, format_count, format_int

CONVENTIONS = (
    "MACs: multiply-accumulates of conv, linear and matrix products (the paper's \"ops\", torchvision's "
    "\"GFLOPS\"); FLOPs = 2 x MACs. Other ops: bias adds, normalization, activations, pooling and "
    "elementwise ops, counted apart (README: counting conventions)."
)

TABLE_COLUMNS = ("Layer", "Kind", "Output shape", "Params", "MACs", "Other ops", "MACs %")


def shape_text(shape: tuple[int, ...]) -> str:
    """``(1, 64, 112, 112)`` -> ``1x64x112x112``."""
    return "x".join(map(str, shape))


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}" if whole else "0.0"


def _rows(profile: Profile, depth: int | None) -> list[tuple[str, ...]]:
    total = profile.totals.macs
    rows = []
    for layer in profile.rollup(depth):
        rows.append((
            layer.name,
            layer.kind,
            shape_text(layer.output_shape),
            format_int(layer.params),
            format_int(layer.macs),
            format_int(layer.other_ops),
            _share(layer.macs, total),
        ))
    return rows


def heading(profile: Profile) -> str:
    """One line naming the network, input, dtype, engine and mode."""
    mode = "training mode (aux heads)" if profile.train else "inference"
    return (
        f"{profile.name} · input {shape_text(profile.input_shape)} · {profile.dtype} · "
        f"{profile.engine} engine · {mode}"
    )


def summary_lines(profile: Profile) -> list[str]:
    """Totals in words, for the table footer."""
    t = profile.totals
    lines = [
        f"Params: {format_int(t.params)} ({format_count(t.params)}; weights {format_int(t.weights)}, "
        f"biases {format_int(t.biases)})",
        f"MACs: {format_int(t.macs)} ({format_count(t.macs)}) · FLOPs: {format_int(t.flops)} ({format_count(t.flops)})",
        f"Other ops: {format_int(t.other_ops)} (bias {format_int(t.bias_ops)}, norm {format_int(t.norm_ops)}, "
        f"activation {format_int(t.activation_ops)}, pool {format_int(t.pool_ops)}, "
        f"elementwise {format_int(t.elementwise_ops)})",
        f"Activations: {format_int(t.activation_elements)} elements, {format_bytes(t.activation_bytes)} "
        f"(sum of layer outputs)",
    ]
    if profile.depth is not None:
        lines.append(
            f"Depth: {profile.depth.weighted} layers with parameters on the longest path, "
            f"{profile.depth.with_pooling} counting pooling"
        )
    if profile.unsupported:
        lines.append(f"NOT COUNTED (unsupported ops): {unsupported_summary(profile)}")
    return lines


def unsupported_summary(profile: Profile, *, layers_shown: int = 3) -> str:
    """``aten::max_pool2d x13 (maxpool1, maxpool2, inception_3a.branch_pool.pool and 10 more)``:
    one entry an op, in order of first appearance (JSON lists every layer)."""
    by_op: dict[str, list] = {}
    for item in profile.unsupported:
        by_op.setdefault(item.op, []).append(item)
    entries = []
    for op, items in by_op.items():
        places = [item.layer or "(top)" for item in items]
        shown = ", ".join(places[:layers_shown])
        if len(places) > layers_shown:
            shown += f" and {len(places) - layers_shown} more"
        entries.append(f"{op} x{sum(item.count for item in items)} ({shown})")
    return "; ".join(entries)


def render_table(profile: Profile, depth: int | None = 1, *, width: int | None = None) -> str:
    """A torchinfo-style table with totals and the conventions in a footer.

    ``width`` fixes the line width (for files and pipes); None lets rich measure the terminal.
    """
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, show_footer=True, pad_edge=False)
    totals = profile.totals
    footers = ("Total", "", "", format_int(totals.params), format_int(totals.macs),
               format_int(totals.other_ops), "100.0" if totals.macs else "0.0")
    for index, (column, footer) in enumerate(zip(TABLE_COLUMNS, footers)):
        table.add_column(column, footer=footer, justify="right" if index >= 3 else "left", no_wrap=index < 3)
    for row in _rows(profile, depth):
        table.add_row(*row)
    buffer = io.StringIO()
    console = Console(file=buffer, width=width or 200, force_terminal=False, color_system=None,
                      highlight=False, soft_wrap=False)
    console.print(heading(profile), soft_wrap=True)
    console.print(table)
    for line in summary_lines(profile):
        console.print(line)
    console.print(CONVENTIONS, soft_wrap=True)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"


def render_csv(profile: Profile, depth: int | None = None) -> str:
    """One row a layer, every column of the JSON layer records; shapes as ``1x64x112x112``."""
    rows = profile.to_dict(depth)["layers"]
    buffer = io.StringIO()
    if not rows:
        return ""
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (shape_text(v) if k.endswith("_shape") else v) for k, v in row.items()})
    return buffer.getvalue()


def markdown_text(text: str) -> str:
    """User text for Markdown: ``<``, ``>`` and ``&`` as entities, so a name holding HTML shows as text
    wherever the Markdown becomes HTML (a viewer that does not sanitize would run it).

    >>> markdown_text("<script>x</script> & co")
    '&lt;script&gt;x&lt;/script&gt; &amp; co'
    """
    return html.escape(text, quote=False)


def markdown_table(header: list[str], rows: list[list[Any]], align: str | None = None) -> str:
    """A GitHub Markdown table; ``align`` is one letter a column (``l``/``r``). Pipes and HTML are escaped."""
    align = align or "l" * len(header)
    def cell(value: Any) -> str:
        return markdown_text(str(value)).replace("|", "\\|").replace("\n", " ")
    lines = ["| " + " | ".join(cell(h) for h in header) + " |",
             "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def render_markdown(profile: Profile, depth: int | None = 1) -> str:
    """The table as GitHub Markdown, with totals and conventions below it."""
    totals = profile.totals
    body = [list(row) for row in _rows(profile, depth)]
    body.append(["**Total**", "", "", f"**{format_int(totals.params)}**", f"**{format_int(totals.macs)}**",
                 f"**{format_int(totals.other_ops)}**", "100.0" if totals.macs else "0.0"])
    text = f"### {markdown_text(heading(profile))}\n\n"
    text += markdown_table(list(TABLE_COLUMNS), body, "lllrrrr")
    text += "\n" + "\n".join(f"- {line}" for line in summary_lines(profile)) + "\n\n"
    text += f"_{CONVENTIONS}_\n"
    return text


def profile_html(profile: Profile, depth: int | None = 1) -> str:
    """A small escaped HTML table, for notebooks (``Profile._repr_html_``)."""
    esc = html.escape
    head = "".join(f"<th>{esc(c)}</th>" for c in TABLE_COLUMNS)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(v)}</td>" for v in row) + "</tr>" for row in _rows(profile, depth)
    )
    summary = "".join(f"<li>{esc(line)}</li>" for line in summary_lines(profile))
    return (
        f"<div><p><b>{esc(heading(profile))}</b></p><table><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table><ul>{summary}</ul><p><i>{esc(CONVENTIONS)}</i></p></div>"
    )


def layer_label(layer: LayerStats) -> str:
    """``conv1 (conv)``: how a layer is named in one line."""
    return f"{layer.name} ({layer.kind})"

"""Interactive charts (plotly figures) built from profile and analysis DataFrames.

Each function returns a ``plotly.graph_objects.Figure``; :mod:`archlens.render.html` places them
in a page. Hover texts carry the exact integers (formatted by :mod:`archlens.units`); axes carry
the magnitudes.
"""

from __future__ import annotations

from html import escape
from typing import Any

from archlens.counting.records import Profile
from archlens.units import format_bytes, format_count, format_int

# Colorblind-safe qualitative palette (Okabe-Ito), for networks side by side (a few).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
# Blocks of one network (GoogLeNet has 13 with params or MACs): Kelly's 22 colours of maximum contrast
# but white and black, so no two blocks share a colour up to 20; past that, blocks are coloured by kind.
BLOCK_PALETTE = ("#0067A5", "#F38400", "#008856", "#BE0032", "#875692", "#A1CAF1", "#F3C300", "#848482",
                 "#E68FAC", "#C2B280", "#604E97", "#F99379", "#882D17", "#8DB600", "#B3446C", "#DCD300",
                 "#654522", "#E25822", "#2B3D26", "#F6A600")
FONT = dict(family="Helvetica, Arial, sans-serif", size=12)
METRICS = {"macs": "MACs", "params": "params"}
# Log axes: a tick at each power of ten, in SI units (G, not B), like the rest of archlens.
LOG_AXIS = dict(dtick=1, exponentformat="SI", showexponent="all")
LABELLED_BARS = 120  # at most this many bars carry their names at first (more: hover, or the report's toggle)


def _layout(fig: Any, title: str, height: int = 380, **extra: Any) -> Any:
    fig.update_layout(title=dict(text=title, x=0.01, font=dict(size=14)), height=height, font=FONT,
                      margin=dict(l=60, r=20, t=50, b=60), plot_bgcolor="#ffffff", paper_bgcolor="#ffffff",
                      hoverlabel=dict(font=FONT), **extra)
    fig.update_xaxes(showgrid=False, linecolor="#999999", exponentformat="SI")
    fig.update_yaxes(gridcolor="#e6e6e6", linecolor="#999999", zerolinecolor="#cccccc", exponentformat="SI")
    return fig


def layers_frame(profile: Profile):
    """Every layer that holds parameters or MACs, with its top-level block and a short label, unique (a
    conv unit's one layer with figures by the unit's name: ``inception_3a.branch_3x3.reduce``, not
    ``....reduce.conv``; a unit whose BatchNorm holds parameters too keeps full names): one row a layer."""
    from collections import Counter

    from archlens.render.graph import UNIT_KINDS

    frame = profile.to_dataframe()
    frame = frame[(frame["macs"] > 0) | (frame["params"] > 0)].reset_index(drop=True)
    frame["block"] = frame["name"].str.split(".").str[0]

    def unit(name: str) -> str:
        parent = name.rpartition(".")[0]
        return parent if parent and profile.group_kind(parent) in UNIT_KINDS else name

    units = [unit(name) for name in frame["name"]]
    alike = Counter(units)
    frame["label"] = [short if alike[short] == 1 else name for short, name in zip(units, frame["name"])]
    return frame


def block_colors(profile: Profile, blocks: list[str]) -> tuple[dict[str, str], bool]:
    """A colour for each top-level block, and whether they are coloured by kind: one colour a block while
    :data:`BLOCK_PALETTE` has enough, else one a block kind (``conv``, ``inception``, ...), so no two
    blocks that look alike are different things."""
    if len(blocks) <= len(BLOCK_PALETTE):
        return {block: BLOCK_PALETTE[index] for index, block in enumerate(blocks)}, False
    kinds = list(dict.fromkeys(profile.group_kind(block) or "layer" for block in blocks))
    by_kind = {kind: BLOCK_PALETTE[index % len(BLOCK_PALETTE)] for index, kind in enumerate(kinds)}
    return {block: by_kind[profile.group_kind(block) or "layer"] for block in blocks}, True


def layer_bars(profile: Profile, metric: str = "macs"):
    """One bar a layer with parameters or MACs, in network order, one colour a top-level block (legend),
    the layers' names under the axis (``layout.meta["names_toggle"]``: whether they show at first; the
    report adds a switch for them), every figure on hover."""
    import plotly.graph_objects as go

    frame = layers_frame(profile)
    total = int(getattr(profile.totals, metric))
    blocks = list(dict.fromkeys(frame["block"]))
    colors, by_kind = block_colors(profile, blocks)
    fig = go.Figure()
    shown_kinds: set[str] = set()
    for block in blocks:
        part = frame[frame["block"] == block]
        kind = profile.group_kind(block) or str(part["kind"].iloc[0])
        hover = [
            f"<b>{escape(name)}</b><br>{kind_}, output {shape}<br>{METRICS[metric]} {format_int(int(value))} "
            f"({100 * value / total:.2f}% of the network)" if total else escape(name)
            for name, kind_, shape, value in zip(part["name"], part["kind"], part["output_shape"], part[metric])
        ]
        fig.add_trace(go.Bar(
            x=[escape(label) for label in part["label"]], y=[int(v) for v in part[metric]],
            name=escape(kind if by_kind else block), legendgroup=kind if by_kind else block,
            showlegend=not by_kind or kind not in shown_kinds, marker_color=colors[block],
            hovertext=hover, hoverinfo="text",
        ))
        shown_kinds.add(kind)
    labelled = len(frame) <= LABELLED_BARS
    what = "block kind" if by_kind else "block"
    _layout(fig, f"{METRICS[metric]} per layer ({format_count(total)} in all), coloured by {what}", height=480,
            barmode="overlay", legend=dict(font=dict(size=10), orientation="h", x=0, xanchor="left", y=1.02,
                                           yanchor="bottom", title=dict(text=what + ":")),
            meta={"names_toggle": labelled})
    fig.update_xaxes(showticklabels=labelled, tickangle=-60, tickfont=dict(size=9), automargin=True,
                     title_text="layers in network order")
    fig.update_yaxes(title_text=METRICS[metric])
    return fig


def hierarchy_frame(profile: Profile, metric: str = "macs"):
    """Every name prefix of the layers with ``metric`` > 0, with its parent and summed value.

    >>> import archlens
    >>> frame = hierarchy_frame(archlens.profile("googlenet"))
    >>> frame[frame["id"] == "inception_3a.branch_3x3"]["value"].item()   # reduce + 3x3 conv
    101154816
    """
    import pandas as pd

    from archlens.render.graph import UNIT_KINDS

    frame = profile.to_dataframe()
    values: dict[str, int] = {}
    for name, value in zip(frame["name"], frame[metric]):
        if value <= 0:
            continue
        parts = name.split(".")
        # a conv with its BatchNorm and ReLU is one rectangle, as it is one box in the graph
        unit = next((i for i in range(1, len(parts)) if profile.group_kind(".".join(parts[:i])) in UNIT_KINDS), None)
        parts = parts[:unit] if unit else parts
        for depth in range(1, len(parts) + 1):
            key = ".".join(parts[:depth])
            values[key] = values.get(key, 0) + int(value)
    rows = [{"id": key, "parent": key.rpartition(".")[0], "label": key.rpartition(".")[2], "value": value}
            for key, value in values.items()]
    return pd.DataFrame(rows, columns=["id", "parent", "label", "value"])


def compute_treemap(profile: Profile, metric: str = "macs"):
    """Where the compute goes: top-level blocks and what is inside them as nested rectangles sized by
    ``metric``, one colour a block (as in the bar charts), two levels drawn, labels at a readable size
    (a rectangle too small for its label shows it on hover). Each rectangle's id is its layer-name
    prefix; the report turns a click into the block's rows of the layer table."""
    import plotly.graph_objects as go

    frame = hierarchy_frame(profile, metric)
    total = int(getattr(profile.totals, metric))
    blocks = [ident for ident, parent in zip(frame["id"], frame["parent"]) if not parent]
    colors, _ = block_colors(profile, blocks)
    headed = set(blocks) & set(frame["parent"])  # top-level blocks drawn with their insides
    hover = [f"<b>{escape(i)}</b><br>{METRICS[metric]} {format_int(int(v))} ({100 * v / total:.2f}%)"
             for i, v in zip(frame["id"], frame["value"])]
    fig = go.Figure(go.Treemap(
        ids=list(frame["id"]), parents=list(frame["parent"]), labels=[escape(label) for label in frame["label"]],
        values=[int(v) for v in frame["value"]], branchvalues="total", hovertext=hover, hoverinfo="text",
        maxdepth=2, textposition="top left",
        # a block with rectangles inside has one line in its header strip; any other rectangle two
        texttemplate=["<b>%{label}</b> %{percentRoot:.1%}" if ident in headed else "<b>%{label}</b><br>%{percentRoot:.1%}"
                      for ident in frame["id"]],
        marker=dict(colors=[colors[ident.split(".")[0]] for ident in frame["id"]], line=dict(width=1.5, color="#ffffff"),
                    pad=dict(t=20, l=3, r=3, b=3)),
        pathbar=dict(visible=False), tiling=dict(packing="squarify"), insidetextfont=dict(size=13),
    ))
    _layout(fig, f"Where the {METRICS[metric]} go, by block (click a rectangle for its rows in the layer table)",
            height=520)
    fig.update_layout(margin=dict(l=8, r=8, t=44, b=8), uniformtext=dict(minsize=11, mode="hide"))
    return fig


def diff_bars(diff: Any):
    """MACs of A and B, one pair of bars a row with MACs on either side, in network order (a diff's rows)."""
    import plotly.graph_objects as go

    rows = [row for row in diff.rows if row.figure("macs").a or row.figure("macs").b]
    fig = go.Figure()
    for side, network, color in (("a", diff.a.name, PALETTE[0]), ("b", diff.b.name, PALETTE[3])):
        values = [getattr(row.figure("macs"), side) for row in rows]
        fig.add_trace(go.Bar(
            x=[escape(row.name) for row in rows], y=values, name=escape(f"{side.upper()}: {network}"),
            marker_color=color, hoverinfo="text",
            hovertext=[f"<b>{escape(row.name)}</b><br>{escape(network)}: MACs {format_int(value)}" for row, value
                       in zip(rows, values)],
        ))
    _layout(fig, f"MACs of each block, {escape(diff.a.name)} (A) and {escape(diff.b.name)} (B)", barmode="group",
            height=400, legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"))
    fig.update_xaxes(tickangle=-45, automargin=True)
    fig.update_yaxes(title_text="MACs")
    return fig


def comparison_bars(comparison: Any):
    """Params and MACs (counts) of each network on one log axis, activation memory (bytes) on its own."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    frame = comparison.to_dataframe()
    counts = [("params", "params"), ("macs", "MACs")]
    fig = make_subplots(rows=1, cols=2, column_widths=[0.64, 0.36], horizontal_spacing=0.16)
    for index, row in frame.iterrows():
        name, color = escape(row["name"]), PALETTE[index % len(PALETTE)]
        fig.add_trace(go.Bar(
            x=[label for _, label in counts], y=[int(row[column]) for column, _ in counts], name=name,
            legendgroup=name, marker_color=color, text=[format_count(int(row[column])) for column, _ in counts],
            textposition="outside", cliponaxis=False, hoverinfo="text",
            hovertext=[f"<b>{name}</b><br>{label}: {format_int(int(row[column]))}" for column, label in counts],
        ), row=1, col=1)
        memory = int(row["activation_bytes"])
        fig.add_trace(go.Bar(
            x=["activations"], y=[memory], name=name, legendgroup=name, showlegend=False, marker_color=color,
            text=[format_bytes(memory)], textposition="outside", cliponaxis=False, hoverinfo="text",
            hovertext=[f"<b>{name}</b><br>activation memory: {format_int(memory)} bytes ({format_bytes(memory)})"],
        ), row=1, col=2)
    _layout(fig, "Size and cost, log scale: counts and bytes on their own axes", barmode="group", height=440,
            legend=dict(orientation="h", x=0, xanchor="left", y=1.02, yanchor="bottom"))
    fig.update_yaxes(type="log", **LOG_AXIS, row=1, col=1, title_text="count (log scale)")
    fig.update_yaxes(type="log", **{**LOG_AXIS, "ticksuffix": "B"}, row=1, col=2,
                     title_text="bytes (log scale)")
    return fig


def _network_scatter(frame: Any, y_column: str, title: str, y_title: str, hover: Any, *, log_y: bool):
    """One labelled point a network: MACs (log scale) across, ``y_column`` up."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for index, row in frame.reset_index(drop=True).iterrows():
        name = escape(str(row["name"]))
        y = row[y_column]
        fig.add_trace(go.Scatter(
            x=[int(row["macs"])], y=[y.item() if hasattr(y, "item") else y], mode="markers+text", name=name, text=[name],
            textposition="top center", marker=dict(size=14, color=PALETTE[index % len(PALETTE)]),
            hovertext=[f"<b>{name}</b><br>MACs {format_int(int(row['macs']))}<br>{hover(row)}"], hoverinfo="text",
        ))
    _layout(fig, title, height=420, showlegend=False)
    fig.update_xaxes(type="log", title_text="MACs (log scale)", **LOG_AXIS)
    fig.update_yaxes(title_text=y_title, **(dict(type="log", **LOG_AXIS) if log_y else {}))
    return fig


def params_macs_scatter(comparison: Any):
    """Parameters against MACs, one point a network, both axes log scale."""
    return _network_scatter(comparison.to_dataframe(), "params", "Parameters vs MACs", "parameters (log scale)",
                            lambda row: f"params {format_int(int(row['params']))}", log_y=True)


def accuracy_macs_scatter(comparison: Any):
    """Published top-1 accuracy against MACs, for networks whose spec carries accuracy; None for fewer than two."""
    frame = comparison.to_dataframe()
    frame = frame[frame["top1"].notna()]
    if len(frame) < 2:
        return None  # one point says nothing about a trade-off
    return _network_scatter(frame, "top1", "Published top-1 accuracy vs MACs", "top-1 accuracy (%)",
                            lambda row: f"top-1 {row['top1']}%<br>source: {escape(str(row['accuracy_source']))}",
                            log_y=False)


def inception_modules_bars(study: Any):
    """MACs of each Inception module, naive against reduced, on the same input."""
    import plotly.graph_objects as go

    frame = study.modules_dataframe()
    fig = go.Figure()
    for variant, color in (("naive", PALETTE[3]), ("reduced", PALETTE[0])):
        fig.add_trace(go.Bar(
            x=list(frame["name"]), y=[int(v) for v in frame[f"{variant}_macs"]], name=variant, marker_color=color,
            hovertext=[f"<b>{escape(n)}</b> {variant}<br>MACs {format_int(int(m))}<br>params {format_int(int(p))}<br>"
                       f"{int(c)} channels out" for n, m, p, c in zip(frame["name"], frame[f"{variant}_macs"],
                                                                       frame[f"{variant}_params"],
                                                                       frame[f"{variant}_out_channels"])],
            hoverinfo="text",
        ))
    _layout(fig, "Each Inception module alone: naive (figure 2a) vs with 1x1 reductions (figure 2b)",
            barmode="group", height=400)
    fig.update_yaxes(title_text="MACs")
    return fig


def inception_cascade_lines(study: Any):
    """Cumulative MACs block by block through the network, every module naive vs as given."""
    import plotly.graph_objects as go

    frame = study.cascade_dataframe()
    fig = go.Figure()
    for variant, color in (("naive", PALETTE[3]), ("reduced", PALETTE[0])):
        fig.add_trace(go.Scatter(
            x=list(frame["name"]), y=[int(v) for v in frame[f"{variant}_cumulative_macs"]], mode="lines+markers",
            name=variant, line=dict(color=color),
            hovertext=[f"<b>{escape(n)}</b> {variant}<br>{int(c)} channels out<br>MACs so far {format_int(int(m))}"
                       for n, c, m in zip(frame["name"], frame[f"{variant}_channels"],
                                          frame[f"{variant}_cumulative_macs"])],
            hoverinfo="text",
        ))
    _layout(fig, "The cascade: MACs summed from the input, every module naive vs reduced", height=400)
    fig.update_yaxes(title_text="cumulative MACs")
    return fig

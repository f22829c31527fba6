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

# Colorblind-safe qualitative palette (Okabe-Ito), for networks and blocks.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
FONT = dict(family="Helvetica, Arial, sans-serif", size=12)
METRICS = {"macs": "MACs", "params": "params"}
# Log axes: a tick at each power of ten, in SI units (G, not B), like the rest of archlens.
LOG_AXIS = dict(dtick=1, exponentformat="SI", showexponent="all")


def _layout(fig: Any, title: str, height: int = 380, **extra: Any) -> Any:
    fig.update_layout(title=dict(text=title, x=0.01, font=dict(size=14)), height=height, font=FONT,
                      margin=dict(l=60, r=20, t=50, b=60), plot_bgcolor="#ffffff", paper_bgcolor="#ffffff",
                      hoverlabel=dict(font=FONT), **extra)
    fig.update_xaxes(showgrid=False, linecolor="#999999", exponentformat="SI")
    fig.update_yaxes(gridcolor="#e6e6e6", linecolor="#999999", zerolinecolor="#cccccc", exponentformat="SI")
    return fig


def layers_frame(profile: Profile):
    """Every layer that holds parameters or MACs, with its top-level block: one row a layer."""
    frame = profile.to_dataframe()
    frame = frame[(frame["macs"] > 0) | (frame["params"] > 0)].reset_index(drop=True)
    frame["block"] = frame["name"].str.split(".").str[0]
    return frame


def layer_bars(profile: Profile, metric: str = "macs"):
    """One bar a layer with parameters or MACs, in network order, colored by top-level block."""
    import plotly.graph_objects as go

    frame = layers_frame(profile)
    total = int(getattr(profile.totals, metric))
    blocks = list(dict.fromkeys(frame["block"]))
    kinds = {g.name: g.kind for g in profile.groups}
    fig = go.Figure()
    for index, block in enumerate(blocks):
        part = frame[frame["block"] == block]
        hover = [
            f"<b>{escape(name)}</b><br>{kind}, output {shape}<br>{METRICS[metric]} {format_int(int(value))} "
            f"({100 * value / total:.2f}% of the network)" if total else escape(name)
            for name, kind, shape, value in zip(part["name"], part["kind"], part["output_shape"], part[metric])
        ]
        fig.add_trace(go.Bar(
            x=list(part["name"]), y=[int(v) for v in part[metric]], name=escape(block),
            legendgroup=kinds.get(block, "layer"), marker_color=PALETTE[index % len(PALETTE)],
            hovertext=hover, hoverinfo="text",
        ))
    _layout(fig, f"{METRICS[metric]} per layer ({format_count(total)} in all)", barmode="overlay",
            showlegend=len(blocks) <= 30, legend=dict(font=dict(size=10)))
    fig.update_xaxes(showticklabels=len(frame) <= 40, title_text="layers in network order (hover for names)")
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
    """Where the compute goes: blocks, branches and layers as nested rectangles sized by MACs."""
    import plotly.graph_objects as go

    frame = hierarchy_frame(profile, metric)
    total = int(getattr(profile.totals, metric))
    hover = [f"<b>{escape(i)}</b><br>{METRICS[metric]} {format_int(int(v))} ({100 * v / total:.2f}%)"
             for i, v in zip(frame["id"], frame["value"])]
    fig = go.Figure(go.Treemap(
        ids=list(frame["id"]), parents=list(frame["parent"]), labels=[escape(label) for label in frame["label"]],
        values=[int(v) for v in frame["value"]], branchvalues="total", hovertext=hover, hoverinfo="text",
        maxdepth=3, textinfo="label+percent root", marker=dict(colorscale="Oranges", line=dict(width=1)),
    ))
    _layout(fig, f"Where the {METRICS[metric]} go, by block (click a block to zoom in)", height=480)
    fig.update_layout(margin=dict(l=10, r=10, t=50, b=10))
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
    """Params, MACs and activation memory of each network, grouped, on a log scale."""
    import plotly.graph_objects as go

    frame = comparison.to_dataframe()
    figures = [("params", "params", format_count), ("macs", "MACs", format_count),
               ("activation_bytes", "activation memory (bytes)", format_bytes)]
    fig = go.Figure()
    for index, row in frame.iterrows():
        fig.add_trace(go.Bar(
            x=[label for _, label, _ in figures], y=[int(row[column]) for column, _, _ in figures],
            name=escape(row["name"]), marker_color=PALETTE[index % len(PALETTE)],
            text=[fmt(int(row[column])) for column, _, fmt in figures], textposition="outside",
            hovertext=[f"<b>{escape(row['name'])}</b><br>{label}: {format_int(int(row[column]))}"
                       for column, label, _ in figures], hoverinfo="text",
        ))
    _layout(fig, "Size and cost, log scale", barmode="group", height=420)
    fig.update_yaxes(type="log", title_text="count (log scale)", **LOG_AXIS)
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

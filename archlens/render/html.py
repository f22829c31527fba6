"""Self-contained HTML reports: one jinja2 environment (autoescape on), plotly charts, graphviz graphs.

The page opens offline: plotly's JavaScript is inlined once in the page's head (about 4.8 MB), so
the single file can be mailed, attached to a CI run or opened from any folder, with no network
and no companion file to lose. Graphs are graphviz SVG inlined in the page. The same report gives
the same bytes (chart ids are numbered, nothing depends on the clock).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable

from archlens.counting.records import TOP
from archlens.counting.training import OPTIMIZERS
from archlens.render.cells import shape_text
from archlens.report import NetworkSection, Report
from archlens.units import format_bytes, format_count, format_int, format_ratio

CHART_CONFIG = {"displaylogo": False, "responsive": True}


@lru_cache(maxsize=1)
def environment():
    """The jinja2 environment for every report template: autoescape on, number filters from units."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("archlens.render", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "j2"), default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        int=format_int, count=format_count, bytes=format_bytes, ratio=_ratio, shape=shape_text, pct=_pct,
        number=_number, html=_html_fragment,
    )
    return env


def _html_fragment(result: Any) -> Any:
    """A result's tables as HTML (the renderer escapes every string), for ``{{ budget|html }}``."""
    from markupsafe import Markup

    return Markup(result.render("html"))


def _ratio(value: float | None) -> str:
    return "—" if value is None else format_ratio(value)


def _pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{100 * value:.{digits}f}%"


def _number(value: int | float | None) -> str:
    """An exact integer with separators, a float as written (``1.5e9`` -> ``1,500,000,000``)."""
    if value is None:
        return "—"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return format_int(value) if isinstance(value, int) else f"{value:,.4g}"


class _Charts:
    """Numbers chart divs in page order, so the page's bytes are reproducible. A chart's title becomes the
    card's heading (HTML wraps on a phone, a plotly title is cut), and a bar chart of layers gets a
    switch for its layer names."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, figure: Any) -> str:
        from markupsafe import Markup

        if figure is None:
            return Markup("")
        self.count += 1
        title = figure.layout.title.text or ""  # the chart functions escape what they put in a title
        meta = figure.layout.meta if isinstance(figure.layout.meta, dict) else {}
        figure.update_layout(title_text=None, margin_t=max(16, (figure.layout.margin.t or 50) - 36), meta=None)
        div = figure.to_html(full_html=False, include_plotlyjs=False, div_id=f"chart-{self.count}",
                             config=CHART_CONFIG)
        toggle = ""
        if "names_toggle" in meta:
            checked = " checked" if meta["names_toggle"] else ""
            toggle = (f'<label class="switch"><input type="checkbox" data-names="chart-{self.count}"{checked}> '
                      "layer names</label>")
        head = f'<div class="chart-head"><span class="chart-title">{title}</span>{toggle}</div>' if title or toggle else ""
        return Markup(f'<div class="chart">{head}{div}</div>')


def result_page(result: Any, title: str, **options: Any) -> str:
    """One result (a diff, a profile, a budget check ...) as a small self-contained HTML page: its
    notebook display (the tables with their scoped style), nothing fetched.

    >>> import archlens
    >>> result_page(archlens.check("alexnet", max_params="61M"), "budget").startswith("<!DOCTYPE html>")
    True
    """
    import html

    return ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n<meta name="generator" content="archlens">\n'
            f"<title>{html.escape(title)} · archlens</title>\n</head>\n<body style=\"margin: 16px 24px\">\n"
            f"{result.render('notebook', **options)}\n</body>\n</html>\n")


def graph_svg(section: NetworkSection, depth: int | None) -> dict[str, str]:
    """The network's graph as inline SVG markup, or a note saying why it is missing."""
    from markupsafe import Markup

    from archlens.render.graph import GraphvizMissing, graph_of, render, svg_for_html, to_dot

    dot_text = to_dot([graph_of(section.profile, section.spec, depth=depth)])
    try:
        prefix = f"{anchor(section.profile.name)}-{'top' if depth == 1 else 'full'}-"
        return {"svg": Markup(svg_for_html(render(dot_text, "svg"), prefix)), "note": ""}
    except GraphvizMissing as missing:
        return {"svg": Markup(""), "note": f"Graph not drawn: {missing}."}


def anchor(name: str) -> str:
    """A fragment id for a network's section: ``net-googlenet-naive``."""
    return "net-" + "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name)


def diff_anchor(diff: Any) -> str:
    """The fragment id of the diff of the first network with ``diff.b``: ``diff-googlenet-naive``."""
    return "diff-" + anchor(diff.b.name).removeprefix("net-")


def section_view(section: NetworkSection, charts: _Charts, *, full_graph_open: bool) -> dict[str, Any]:
    """What the template needs for one network: cards, charts, graphs, tables."""
    from archlens.render import charts as C

    profile = section.profile
    totals = profile.totals
    view: dict[str, Any] = {
        "name": profile.name,
        "anchor": anchor(profile.name),
        "description": section.description,
        "profile": profile,
        "totals": totals,
        "depth": profile.depth,
        "layers": profile.to_dict()["layers"],
        "kinds": sorted({layer.kind for layer in profile.layers}),
        "mac_bars": charts(C.layer_bars(profile, "macs")),
        "param_bars": charts(C.layer_bars(profile, "params")),
        "treemap": charts(C.compute_treemap(profile, "macs")),
        "graph_top": graph_svg(section, 1),
        "graph_full": graph_svg(section, None),
        "full_graph_open": full_graph_open,
        "table1": None,
        "budget": section.budget,
        "unsupported": profile.unsupported,
        "step": profile.step,
        "optimizer": OPTIMIZERS[profile.training.optimizer].title if profile.training is not None else None,
    }
    if section.table1 is not None:
        view["table1"] = section.table1
    return view


def page_parts(report: Report, sections: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The page's sections in page order, ``{"kind", "id", "title"}`` each: the navigation is drawn
    from the same list, so its order is the page's. Several networks: the comparison, the diffs, the
    analyses, the budgets, then each network; one network: the network first, then its budgets and analyses."""
    analyses = []
    if report.claims is not None:
        analyses.append({"kind": "claims", "id": "claims", "title": "Paper claims"})
    if report.inception is not None:
        analyses.append({"kind": "inception", "id": "inception", "title": "Inception study"})
    budgets = [{"kind": "budgets", "id": "budgets", "title": "Budgets"}] if report.budgets else []
    networks = [{"kind": "network", "id": section["anchor"], "title": section["name"], "index": index}
                for index, section in enumerate(sections)]
    if report.single:
        return networks + budgets + analyses
    comparison = [{"kind": "comparison", "id": "comparison", "title": "Comparison"}]
    diffs = [{"kind": "diff", "id": diff_anchor(item), "title": f"Diff: {item.b.name}", "index": index}
             for index, item in enumerate(report.diffs)]
    return comparison + diffs + analyses + budgets + networks


def render_html(report: Report, *, progress: Callable[[str], None] | None = None) -> str:
    """The report as one self-contained HTML page; ``progress`` is called before each network is drawn."""
    from archlens import conventions
    from archlens.render import charts as C

    charts = _Charts()
    mode = "training mode (aux heads)" if report.train else "inference"
    if report.training is not None:
        mode = f"training step ({OPTIMIZERS[report.training.optimizer].title})"
    context: dict[str, Any] = {
        "report": report,
        "mode": mode,
        "conventions": conventions.PROFILE,
        "top": TOP,
        "comparison": None,
        "inception": None,
        "claims": report.claims,
        "budgets": report.budgets,
    }
    if report.comparison is not None:
        comparison = report.comparison
        context["comparison"] = {
            "rows": comparison.rows(),
            "baseline": comparison.baseline.name,
            "bars": charts(C.comparison_bars(comparison)),
            "scatter": charts(C.params_macs_scatter(comparison)),
            "accuracy": charts(C.accuracy_macs_scatter(comparison)),
        }
    context["diffs"] = [{"diff": item, "id": diff_anchor(item), "bars": charts(C.diff_bars(item))}
                        for item in report.diffs]
    if report.inception is not None:
        study = report.inception
        context["inception"] = {
            "study": study,
            "modules": charts(C.inception_modules_bars(study)),
            "cascade": charts(C.inception_cascade_lines(study)),
        }
    step = progress or (lambda _name: None)
    sections = []
    for section in report.networks:
        step(f"draw {section.profile.name}")
        sections.append(section_view(section, charts, full_graph_open=report.single))
    context["sections"] = sections
    context["anchors"] = {section.profile.name: anchor(section.profile.name) for section in report.networks}
    context["parts"] = page_parts(report, sections)
    context["plotly_js"] = _plotly_js()
    return environment().get_template("report.html.j2").render(context)


@lru_cache(maxsize=1)
def _plotly_js():
    from markupsafe import Markup
    import plotly.offline

    return Markup(plotly.offline.get_plotlyjs())


"""Markdown reports with SVG images, for a repository or a pull request.

:func:`render_markdown_report` returns every file of the report as ``{relative path: content}``:
``NAME.md`` and its images in a folder beside it (:func:`image_folder`: ``NAME/``; static SVG charts
from :mod:`archlens.render.svg_charts`, graphs drawn by graphviz). Nothing depends on the clock or on
hash order, so the same report gives the same bytes (graph SVGs: on one graphviz version), and the
same file names: each image's name comes from what it shows (a network's name, made safe for a file
name) and is unique in the report, even for names that differ only in punctuation or case (``net a``,
``net-a``, ``Net-A``: ``net-a-macs.svg``, ``net-a-2-macs.svg``, ``Net-A-3-macs.svg``).
:mod:`archlens.render.report_files` writes the files as one.

User text (names, descriptions, metadata) is escaped for Markdown (:func:`markdown_inline`,
:func:`markdown_text`): it shows as written, never as a link, an image, a heading or HTML.
"""

from __future__ import annotations

import hashlib
import re
from typing import Callable, Iterable

from archlens import conventions
from archlens.counting.records import TOP
from archlens.counting.training import OPTIMIZERS
from archlens.render import svg_charts
from archlens.render.charts import PALETTE
from archlens.render.formats import markdown_inline, markdown_text
from archlens.report import NetworkSection, Report
from archlens.units import format_bytes, format_count, format_int


SLUG_LENGTH = 60


def _slug(name: str) -> str:
    """A name as part of a file name: ASCII letters, digits, ``_`` and ``-`` (any other run of characters
    one ``-``), at most 60 characters, never empty or starting with ``-``: ``net a`` -> ``net-a``."""
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", name)
    slug = re.sub(r"-{2,}", "-", slug).strip("-")[:SLUG_LENGTH].strip("-")
    return slug or "network"


def image_folder(name: str) -> str:
    """The folder of a report's images, beside ``name``: its stem when that is a plain file name
    (``comparison.md`` -> ``comparison``), else a slug made unique by a digest of the stem, so two
    reports never share a folder (``a b.md`` -> ``a-b-`` + 8 hex digits; ``a-b.md`` -> ``a-b``), and a
    name without ``.md`` never names its own file (``a.markdown`` -> ``a-markdown-`` + 8 hex digits)."""
    stem = name[:-3] if name.endswith(".md") else name
    if stem != name and re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}", stem) and not stem.endswith("."):
        return stem
    return f"{_slug(stem)}-{hashlib.sha256(stem.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"


class _FileNames:
    """Unique, deterministic image names: each group of files (a network's charts and graphs) gets a
    stem from its name, with ``-2``, ``-3``... where an earlier group holds one of its names; names
    are compared ignoring case (macOS and Windows file systems do)."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def stem(self, name: str, suffixes: Iterable[str] = ("",)) -> str:
        base = _slug(name)
        stem, number = base, 1
        while any(f"{stem}{suffix}.svg".casefold() in self.taken for suffix in suffixes):
            number += 1
            stem = f"{base}-{number}"
        self.taken.update(f"{stem}{suffix}.svg".casefold() for suffix in suffixes)
        return stem


def _code(name: str) -> str:
    """A block or module name in a code span, when it is a plain identifier; else as escaped text."""
    return f"`{name}`" if re.fullmatch(r"[A-Za-z0-9_.]+", name) else markdown_inline(name)


def _graph_file(graph) -> bytes | None:
    from archlens.render.graph import GraphvizMissing, render, to_dot

    try:
        return render(to_dot([graph]), "svg")
    except GraphvizMissing:
        return None


def _cards(section: NetworkSection) -> str:
    profile = section.profile
    t = profile.totals
    lines = [
        f"- **Parameters:** {format_count(t.params)} ({format_int(t.params)}; weights {format_int(t.weights)})",
        f"- **MACs:** {format_count(t.macs)} ({format_int(t.macs)}) · **FLOPs:** {format_count(t.flops)}",
        f"- **Activation memory:** {format_bytes(t.activation_bytes)} ({format_int(t.activation_elements)} "
        f"elements, {markdown_inline(profile.dtype)})",
    ]
    if profile.depth is not None:
        lines.append(f"- **Depth:** {profile.depth.weighted} layers with parameters, "
                     f"{profile.depth.with_pooling} counting pooling")
    lines.append(f"- **Other ops:** {format_count(t.other_ops)} (bias, normalization, activation, pooling)")
    if profile.step is not None:
        step = profile.step
        optimizer = OPTIMIZERS[profile.training.optimizer].title
        lines += [
            f"- **Backward MACs:** {format_count(step.backward.macs)} ({format_int(step.backward.macs)}); "
            f"the step: {format_int(step.macs)} MACs",
            f"- **Optimizer ({optimizer}):** {format_count(step.optimizer_ops.elementwise_ops)} elementwise ops on "
            f"{format_int(step.trainable)} trainable parameters",
            f"- **Training peak memory:** {format_bytes(step.peak)} (params {format_bytes(step.params)} + grads "
            f"{format_bytes(step.grads)} + optimizer state {format_bytes(step.optimizer_state)} + saved activations "
            f"{format_bytes(step.saved_activations)} + backward transient {format_bytes(step.transient)})",
        ]
    if profile.unsupported:
        listed = ", ".join(f"{markdown_inline(u.op)} x{u.count} in {markdown_inline(u.layer or TOP)}"
                           for u in profile.unsupported)
        lines.append(f"- **Not counted (unsupported ops):** {listed}")
    return "\n".join(lines) + "\n"


def render_markdown_report(report: Report, name: str = "report.md", *,
                           progress: Callable[[str], None] | None = None) -> dict[str, str | bytes]:
    """Every file of the report: ``{name: markdown, "<folder>/<image>.svg": svg, ...}``, the Markdown first."""
    from archlens.render.graph import graph_of

    step = progress or (lambda _name: None)
    folder = image_folder(name)
    names = _FileNames()
    files: dict[str, str | bytes] = {}
    parts: list[str] = []
    md = markdown_inline  # user strings (names, descriptions) show as written, never as markup or HTML

    def image(file: str, content: str | bytes | None, alt: str) -> str:
        if content is None:
            return "_Graph not drawn: graphviz's `dot` is not installed._\n"
        files[f"{folder}/{file}"] = content
        return f"![{md(alt)}]({folder}/{file})\n"

    networks = [s.profile.name for s in report.networks]
    parts.append(f"# {md(report.title)}\n")
    mode = "training mode (aux heads)" if report.train else "inference"
    if report.training is not None:
        mode = f"training step ({OPTIMIZERS[report.training.optimizer].title})"
    parts.append(f"Networks: {', '.join(md(n) for n in networks)} · {mode}. Every figure is an exact count "
                 "from the network's definition (archlens).\n")
    parts.append(f"_{conventions.PROFILE}_\n")

    comparison = report.comparison
    if comparison is not None:
        parts.append("## Comparison\n")
        parts.append(comparison.render("markdown"))
        colors = [PALETTE[i % len(PALETTE)] for i in range(len(comparison.networks))]
        nets = list(comparison.networks)
        size = svg_charts.bar_chart(
            "Parameters and MACs (log scale)", ["parameters", "MACs"],
            [(n.name, color, [n.params, n.macs]) for n, color in zip(nets, colors)], log=True)
        scatter = svg_charts.scatter_chart(
            "Parameters vs MACs", [(n.name, n.macs, n.params, color) for n, color in zip(nets, colors)],
            x_label="MACs (log scale)", y_label="parameters (log scale)")
        parts.append("\n" + image(f"{names.stem('size')}.svg", size, "Parameters and MACs of each network, log scale"))
        parts.append("\n" + image(f"{names.stem('params-vs-macs')}.svg", scatter, "Parameters against MACs, log-log"))
        with_accuracy = [(n, c) for n, c in zip(nets, colors) if n.top1 is not None]
        if len(with_accuracy) >= 2:
            accuracy = svg_charts.bar_chart("Published top-1 accuracy (%)", [n.name for n, _ in with_accuracy],
                                            [("top-1", PALETTE[0], [round(n.top1 * 1000) for n, _ in with_accuracy])],
                                            value_text=lambda v: f"{v / 1000:.1f}%")
            parts.append("\n" + image(f"{names.stem('accuracy')}.svg", accuracy, "Published top-1 accuracy"))

    for item in report.diffs:
        parts.append(f"\n## {md(item.a.name)} → {md(item.b.name)}, layer by layer\n")
        parts.append(_demote(item.render("markdown")))
        rows = [row for row in item.rows if row.figure("macs").a or row.figure("macs").b]
        chart = svg_charts.bar_chart(
            f"MACs of each block: {item.a.name} (A) and {item.b.name} (B)", [row.name for row in rows],
            [(f"A: {item.a.name}", PALETTE[0], [row.figure("macs").a for row in rows]),
             (f"B: {item.b.name}", PALETTE[3], [row.figure("macs").b for row in rows])])
        parts.append("\n" + image(f"{names.stem('diff-' + item.b.name)}.svg", chart,
                                   f"MACs of each block of {item.a.name} and {item.b.name}"))

    if report.claims is not None:
        parts.append("\n## Paper claims\n")
        parts.append(_demote(report.claims.render("markdown")))

    if report.inception is not None:
        step("inception figures")
        study = report.inception
        parts.append(f"\n## Inception study: what the 1x1 reductions buy ({md(study.network)})\n")
        parts.append(_demote(study.render("markdown")))
        modules = svg_charts.bar_chart(
            "MACs of each Inception module alone: naive vs reduced", [m.name for m in study.modules],
            [("naive (figure 2a)", PALETTE[3], [m.naive.macs for m in study.modules]),
             ("reduced (figure 2b)", PALETTE[0], [m.reduced.macs for m in study.modules])])
        parts.append("\n" + image(f"{names.stem('inception-modules')}.svg", modules,
                                   "MACs of each module, naive vs reduced"))
        first = study.modules[0].name
        figure = _module_figure(report, first)
        file = f"{names.stem(first, ['-reduced-vs-naive'])}-reduced-vs-naive.svg"
        parts.append(f"\n{_code(first)} naive (right) and with its 1x1 reductions (left), on the same input:\n\n"
                     + image(file, figure, f"{first}, reduced and naive"))

    if report.budgets:
        parts.append("\n## Budgets\n")
        for budget in report.budgets:
            parts.append(_demote(budget.render("markdown")) + "\n")

    for section in report.networks:
        step(f"draw {section.profile.name}")
        profile = section.profile
        stem = names.stem(profile.name, ["-macs", "-graph", "-graph-full"])
        parts.append(f"\n## {md(profile.name)}\n")
        if section.description:
            parts.append(markdown_text(section.description.strip()) + "\n")
        parts.append("\n" + _cards(section))
        blocks = [row for row in profile.rollup(1) if row.macs > 0]
        if blocks:
            chart = svg_charts.bar_chart(f"{profile.name}: MACs by top-level block",
                                         [row.name for row in blocks], [("MACs", PALETTE[0], [r.macs for r in blocks])],
                                         note=f"{format_int(profile.totals.macs)} MACs in all")
            parts.append("\n" + image(f"{stem}-macs.svg", chart, f"{profile.name}: MACs by block"))
        top_graph = graph_of(profile, section.spec, depth=1)
        full_graph = graph_of(profile, section.spec)
        top = _graph_file(top_graph)
        parts.append(f"\n{image(f'{stem}-graph.svg', top, f'{profile.name}: graph of the top-level blocks')}")
        full = _graph_file(full_graph) if len(full_graph.nodes) > len(top_graph.nodes) else None
        if full is not None:
            files[f"{folder}/{stem}-graph-full.svg"] = full
            parts.append(f"\nEvery layer: [{md(stem + '-graph-full.svg')}]({folder}/{stem}-graph-full.svg) "
                         "(each block a cluster around its layers; an Inception module's four branches meet at its concat).\n")
        if section.table1 is not None:
            parts.append("\n" + _demote(section.table1.render("markdown")))
        parts.append("\n" + _demote(profile.render("markdown", depth=1)))

    body = re.sub(r"\n{3,}", "\n\n", "\n".join(part.strip("\n") + "\n" for part in parts))
    files = {name: body, **dict(sorted(files.items()))}
    return files


def _demote(markdown: str) -> str:
    """Sub-headings under this report's ``##`` sections: ``### x`` stays, a stray empty ``###`` goes."""
    lines = [line for line in markdown.splitlines() if line.strip() != "###"]
    return "\n".join(lines) + "\n"


def _module_figure(report: Report, module: str) -> bytes | None:
    """graphviz SVG of one Inception module, reduced and naive side by side."""
    from archlens.render.graph import GraphvizMissing, graph_of, render, to_dot

    graphs = [graph_of(variant.profile, variant.spec, block=module) for variant in report.module_variants]
    try:
        return render(to_dot(graphs), "svg")
    except GraphvizMissing:
        return None

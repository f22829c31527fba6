"""Network graphs: a :class:`Graph` built from a Profile, written as DOT and drawn by graphviz.

The graph is built from the profile alone (records, groups and their kinds), so it works for any
target: the branches of a parallel group (an Inception module) fan out from the group's input and
meet at its ``concat`` record; an ``aux`` group is a side output; every other group is a chain.
Where the target is a spec, the spec adds kernel sizes and strides to the node labels.

DOT is generated here, deterministically (the same profile gives the same bytes), with every user
string escaped; the ``dot`` program turns it into SVG, PNG or PDF (:func:`render`).

>>> import archlens
>>> graph = build_graph(archlens.profile("googlenet"), depth=1)
>>> [node.name for node in graph.nodes][:3]
['input', 'conv1', 'pool1']
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from archlens.counting.records import LayerStats, Profile, total_of
from archlens.errors import ArchlensError, did_you_mean
from archlens.render.cells import shape_text
from archlens.render.formats import encodable
from archlens.units import format_count

FORMATS = ("svg", "png", "pdf", "dot")
COLOR_BY = ("macs", "params", "none")
# Groups drawn as one node whatever the depth: a conv or linear layer with its BatchNorm and ReLU.
UNIT_KINDS = ("conv", "conv_transpose", "linear")
OWN_OPS = ("concat", "add", "mul")  # what a container computes itself: where its paths meet
FOLD_AT = 3  # a repeat of this many blocks or more is drawn as its first block and one node for the rest
INSTALL_HINT = (
    "install graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz; "
    "conda: conda install graphviz)"
)
# ColorBrewer sequential palettes, light to dark: Oranges for MACs, Blues for parameters.
PALETTES = {
    "macs": ("#fff5eb", "#fee6ce", "#fdd0a2", "#fdae6b", "#fd8d3c", "#f16913", "#d94801", "#a63603", "#7f2704"),
    "params": ("#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b"),
}
CLUSTER_STYLE = {
    "inception": ("#fff8e1", "#c9a227"),
    "vgg_stage": ("#eef5ff", "#6b8fc9"),
    "aux": ("#f3f3f3", "#999999"),
    "branch": ("#ffffff", "#cccccc"),
    "repeat": ("#f1f8ee", "#7fa86b"),
    "squeeze_excite": ("#f6f0fb", "#9a7fc0"),
    "gate": ("#f6f0fb", "#9a7fc0"),
}
DEFAULT_CLUSTER_STYLE = ("#f7f7f7", "#aaaaaa")
FONT = "Helvetica,Arial,sans-serif"


class GraphvizMissing(ArchlensError):
    """graphviz's ``dot`` program is not installed."""


@dataclass(frozen=True)
class Node:
    """One box: a layer, a conv unit (conv + BatchNorm + ReLU) or a collapsed block."""

    id: str
    name: str           # dotted name (``inception_3a.branch_3x3.reduce``); ``input`` for the input
    label: str          # the name as shown inside its cluster (``reduce``)
    kind: str           # ``conv``, ``maxpool``, ``inception`` (collapsed), ``concat``, ``input`` ...
    parts: tuple[str, ...]  # kinds of the layers folded in: ``("conv", "relu")``
    detail: str | None  # from the spec where there is one: ``7x7/2``
    output_shape: tuple[int, ...]
    params: int
    macs: int
    share: float        # of the network's MACs or params (``color``); 0 when not colored
    cluster: str | None  # the innermost cluster's name


@dataclass(frozen=True)
class Edge:
    tail: str
    head: str
    label: str | None   # the tensor shape, where it crosses a block boundary
    skip: bool = False  # an identity shortcut (a residual's input to its add, a gate's input to its multiply)


@dataclass(frozen=True)
class Cluster:
    """A group drawn as a box around its nodes: an Inception module, a branch, a VGG stage."""

    name: str
    label: str
    kind: str
    parent: str | None


@dataclass(frozen=True)
class Graph:
    """Everything needed to draw one network; plain data, no DOT inside."""

    network: str
    title: str
    subtitle: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    clusters: tuple[Cluster, ...]
    color: str           # what shades the nodes: ``macs``, ``params`` or ``none``

    def node(self, name: str) -> Node:
        """The node called ``name`` (a ``KeyError`` if there is none)."""
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)


def _prefixes(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def build_graph(profile: Profile, *, depth: int | None = None, color: str = "macs", block: str | None = None,
                details: dict[str, str] | None = None, fold: bool = True) -> Graph:
    """A :class:`Graph` of ``profile``.

    ``depth`` N draws every group N name levels down as one node (1: top-level blocks); None draws
    every layer (a conv with its BatchNorm and ReLU is always one node). ``color`` shades nodes by
    their share of ``macs`` or ``params`` (or ``none``). ``block`` draws only that block
    (``inception_3a``). ``details`` maps layer names to a short note (kernel and stride). ``fold``
    draws a repeat of :data:`FOLD_AT` blocks or more as its first block and one node for the others
    (``layer3.1-22``, their sums), so ResNet-152 stays readable.
    """
    if color not in COLOR_BY:
        raise ArchlensError(f"unknown color {color!r}", hint=f"use one of: {', '.join(COLOR_BY)}")
    if depth is not None and depth < 1:
        raise ArchlensError(f"depth must be at least 1, got {depth}", hint="leave it out to draw every layer")
    details = details or {}
    group_kinds = {group.name: group.kind for group in profile.groups}
    records = list(profile.layers)
    if block is not None:
        records = [r for r in records if r.name == block or r.name.startswith(block + ".")]
        if not records:
            names = sorted({r.name.split(".")[0] for r in profile.layers})
            hint = did_you_mean(block, names) or f"blocks: {', '.join(names[:12])}"
            raise ArchlensError(f"{profile.name} has no block {block!r}", hint=hint)
    if not records:
        raise ArchlensError(f"{profile.name} has no layers to draw")

    folded = _folds(records, group_kinds) if fold else {}

    # 1. Which node each record belongs to.
    def node_key(name: str) -> str:
        key = name if depth is None else ".".join(name.split(".")[:depth])
        for prefix in _prefixes(key):
            if prefix in folded and prefix != block:
                return folded[prefix]
            if group_kinds.get(prefix) in UNIT_KINDS and prefix != block:
                return prefix
        return key

    members: dict[str, list[LayerStats]] = {}
    for record in records:
        members.setdefault(node_key(record.name), []).append(record)

    # 2. Clusters: groups with nodes strictly inside them (collapsed groups are nodes instead).
    cluster_names = {
        prefix
        for key in members
        for prefix in _prefixes(key)[:-1]
        if prefix in group_kinds and group_kinds[prefix] not in UNIT_KINDS
    }

    def containers(key: str, items: list[LayerStats]) -> list[str]:
        """The clusters around a node, outermost first; a parallel's concat sits inside its own."""
        path = [p for p in _prefixes(key)[:-1] if p in cluster_names]
        if key in cluster_names and _is_single(key, items):
            path.append(key)
        return path

    totals = total_of(profile.layers)
    whole = {"macs": totals.macs, "params": totals.params, "none": 0}[color]
    nodes = [Node("n0", "input", "input", "input", (), None, tuple(records[0].input_shape), 0, 0, 0.0, None)]
    paths: dict[str, list[str]] = {"n0": []}
    fold_kinds = {key: group_kinds.get(first, "") for first, key in folded.items()}
    for index, (key, items) in enumerate(members.items(), start=1):
        single = _is_single(key, items)
        kind = items[0].kind if single else group_kinds.get(key, fold_kinds.get(key) or items[0].kind)
        parts = tuple(item.kind for item in items) if group_kinds.get(key) in UNIT_KINDS else ()
        path = containers(key, items)
        cluster = path[-1] if path else None
        if cluster is None:
            label = key
        elif key == cluster:
            label = kind if kind in OWN_OPS else "own ops"  # what a container computes itself (torch engine)
        else:
            label = key[len(cluster) + 1:]
        if key in fold_kinds:
            first, last = label.split("-")
            label = f"{label} ({int(last) - int(first) + 1} alike)"
        stats = total_of(items)
        value = {"macs": stats.macs, "params": stats.params, "none": 0}[color]
        node = Node(
            id=f"n{index}", name=key, label=label, kind=kind, parts=parts, detail=details.get(key),
            output_shape=tuple(items[-1].output_shape), params=stats.params, macs=stats.macs,
            share=value / whole if whole else 0.0, cluster=cluster,
        )
        nodes.append(node)
        paths[node.id] = path

    def first_node(name: str) -> tuple[int, int, str]:
        return min(int(k[1:]) for k, p in paths.items() if name in p), name.count("."), name

    clusters = []
    for name in sorted(cluster_names, key=first_node):
        parents = [p for p in _prefixes(name)[:-1] if p in cluster_names]
        own = name[len(parents[-1]) + 1:] if parents else name
        clusters.append(Cluster(name, own, group_kinds.get(name, "group"), parents[-1] if parents else None))

    edges = _flow_edges(nodes, paths, group_kinds)
    title = profile.name if block is None else f"{profile.name} · {block}"
    shown = "every layer" if depth is None else f"depth {depth}"
    drawn = totals if block is None else total_of(records)  # the header sums what is drawn
    subtitle = (f"input {shape_text(records[0].input_shape if block else profile.input_shape)} · {shown} · "
                f"params {format_count(drawn.params)} · MACs {format_count(drawn.macs)}")
    if block is not None and totals.macs:
        subtitle += f" ({100 * drawn.macs / totals.macs:.1f}% of {profile.name}'s MACs)"
    return Graph(profile.name, title, subtitle, tuple(nodes), tuple(edges), tuple(clusters), color)


def _is_single(key: str, items: list[LayerStats]) -> bool:
    return len(items) == 1 and items[0].name == key


def _folds(records: list[LayerStats], group_kinds: dict[str, str]) -> dict[str, str]:
    """``{child: folded node}`` for the blocks ``1`` ... ``n-1`` of every repeat of :data:`FOLD_AT` or more
    (``layer3.1`` ... ``layer3.22`` -> ``layer3.1-22``); block ``0`` is drawn in full. A repeat is a
    group of kind ``repeat``, or any group whose children are numbered blocks of one kind (a RegNet
    stage; a torchvision ``nn.Sequential`` of Bottlenecks), never numbered layers of different kinds."""
    children: dict[str, list[str]] = {}
    for record in records:
        parts = record.name.split(".")
        for end in range(1, len(parts)):
            parent = ".".join(parts[:end])
            if parent in group_kinds and parts[end].isdigit():
                child = f"{parent}.{parts[end]}"
                if child not in children.setdefault(parent, []):
                    children[parent].append(child)
    folds: dict[str, str] = {}
    for parent, members in children.items():
        kinds = {group_kinds.get(child) for child in members}
        alike = group_kinds[parent] == "repeat" or (len(kinds) == 1 and None not in kinds)
        if len(members) >= FOLD_AT and alike:
            key = f"{parent}.{members[1].rsplit('.', 1)[1]}-{members[-1].rsplit('.', 1)[1]}"
            folds.update({child: key for child in members[1:]})
    return folds


def _flow_edges(nodes: list[Node], paths: dict[str, list[str]], group_kinds: dict[str, str]) -> list[Edge]:
    """Edges following the data: chains, fan-out into branches, fan-in at the concat, a residual's main
    path and shortcut meeting at its add (an identity shortcut drawn as a dashed skip), a gate's path
    and its input meeting at its multiply, aux on the side.

    The tree is walked as items: ``("cluster", name)`` or ``("node", id)``.
    """
    by_id = {node.id: node for node in nodes}
    edges: list[Edge] = []

    def children(prefix: str | None) -> list[tuple[str, str]]:
        ordered: list[tuple[str, str]] = []
        for node in nodes[1:]:
            path = paths[node.id]
            if prefix is None:
                item = ("cluster", path[0]) if path else ("node", node.id)
            elif prefix not in path:
                continue
            else:
                at = path.index(prefix)
                item = ("cluster", path[at + 1]) if at + 1 < len(path) else ("node", node.id)
            if item not in ordered:
                ordered.append(item)
        return ordered

    def kind_of(item: tuple[str, str]) -> str | None:
        return group_kinds.get(item[1]) if item[0] == "cluster" else by_id[item[1]].kind

    def item_name(item: tuple[str, str]) -> str:
        return item[1] if item[0] == "cluster" else by_id[item[1]].name

    def own_op(prefix: str | None, items: list[tuple[str, str]]) -> tuple[str, str] | None:
        """The node where a container's paths meet (its concat, add or multiply), if it has one."""
        for item in items:
            if item[0] == "node" and by_id[item[1]].name == prefix and by_id[item[1]].kind in ("add", "mul"):
                return item
        return None

    def flow(prefix: str | None, inputs: list[str]) -> list[str]:
        items = children(prefix)
        meet = own_op(prefix, items)
        if meet is not None:  # a residual (add) or a gate (mul): two paths from the input meet here
            at = items.index(meet)
            before, after = items[:at], items[at + 1:]
            shortcut = [item for item in before if item_name(item) == f"{prefix}.shortcut"]
            main = inputs
            for item in [item for item in before if item not in shortcut]:
                main = flow_item(item, main)
            if shortcut:
                skip_out = flow_item(shortcut[0], inputs)
                edges.extend(Edge(tail, meet[1], None) for tail in skip_out)
            else:
                edges.extend(Edge(tail, meet[1], None, skip=True) for tail in inputs)
            edges.extend(Edge(tail, meet[1], None) for tail in main)
            inputs = [meet[1]]
            for item in after:
                inputs = flow_item(item, inputs)
            return inputs
        branches = [item for item in items if kind_of(item) == "branch"]
        if branches:
            outputs: list[str] = []
            for branch in branches:
                outputs += flow_item(branch, inputs)
            inputs = outputs
            items = [item for item in items if item not in branches]
        for item in items:
            inputs = flow_item(item, inputs)
        return inputs

    def flow_item(item: tuple[str, str], inputs: list[str]) -> list[str]:
        if item[0] == "cluster":
            out = flow(item[1], inputs)
        else:
            edges.extend(Edge(tail, item[1], None) for tail in inputs)
            out = [item[1]]
        return inputs if kind_of(item) == "aux" else out

    flow(None, ["n0"])
    # Label the tensors that cross a block boundary (once per fan-out): node labels show the rest.
    labelled: list[Edge] = []
    seen_tails: set[str] = set()
    for edge in edges:
        outer_tail = paths[edge.tail][:1]
        outer_head = paths[edge.head][:1]
        crosses = outer_tail != outer_head
        if crosses and edge.tail not in seen_tails and not edge.skip:
            seen_tails.add(edge.tail)
            labelled.append(Edge(edge.tail, edge.head, shape_text(by_id[edge.tail].output_shape)))
        else:
            labelled.append(edge)
    return labelled


# --- spec details: kernel sizes and strides for node labels ---

def spec_details(spec: Any) -> dict[str, str]:
    """Short notes per layer name from a spec: ``{"conv1": "7x7/2", "pool1": "3x3/2", "norm1": "size 5"}``.

    Each layer type describes itself (``detail()``); names follow the engines' naming (a conv unit
    by its layer name), so they match graph nodes.
    """
    from archlens.layers.walk import iter_layers
    from archlens.spec import expand

    notes: dict[str, str] = {}
    for name, layer in iter_layers(expand(spec).layers):
        note = layer.detail()
        if note:
            notes[name] = note
    return notes


def graph_of(profile: Profile, spec: Any = None, **options: Any) -> Graph:
    """:func:`build_graph` of ``profile`` with the kernel and stride notes of ``spec`` (None for a module).

    >>> import archlens
    >>> graph_of(archlens.profile("googlenet"), archlens.load_spec("googlenet")).node("conv1").detail
    '7x7/2'
    """
    return build_graph(profile, details=spec_details(spec) if spec is not None else None, **options)


# --- DOT ---

def _html(text: str) -> str:
    """Text for a graphviz HTML-like label: markup characters escaped, newlines as spaces."""
    return html.escape(" ".join(str(text).split()), quote=True).replace("&#x27;", "&#39;")


def _quoted(text: str) -> str:
    """A DOT double-quoted string."""
    body = " ".join(str(text).split()).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{body}"'


def _value(node: Node, color: str) -> int:
    return node.macs if color == "macs" else node.params if color == "params" else 0


def _fill(value: int, top: int, color: str) -> tuple[str, str]:
    """Fill and font colors for a node holding ``value`` when the largest node drawn holds ``top``."""
    if color == "none" or top <= 0 or value <= 0:
        return "#ffffff", "#222222"
    palette = PALETTES[color]
    # Square-root scale: values span orders of magnitude, and small ones should still show.
    step = min(len(palette) - 1, 1 + int((value / top) ** 0.5 * (len(palette) - 1)))
    return palette[step], "#ffffff" if step >= 6 else "#222222"


def _node_label(node: Node) -> str:
    if node.kind == "input":
        return f"<<B>input</B><BR/>{_html(shape_text(node.output_shape))}>"
    kind = " + ".join(node.parts) if node.parts else node.kind
    if node.detail:
        kind = f"{kind} {node.detail}"
    rows = [f"<B>{_html(node.label)}</B>"]
    if node.label != node.kind or node.parts:
        rows.append(_html(kind))
    elif node.detail:
        rows.append(_html(node.detail))
    rows.append(_html(shape_text(node.output_shape)))
    if node.params or node.macs:
        rows.append(_html(f"params {format_count(node.params)} · MACs {format_count(node.macs)}"))
    return "<" + "<BR/>".join(rows) + ">"


def to_dot(graphs: Sequence[Graph]) -> str:
    """DOT text for one graph, or several side by side; the same graphs give the same bytes."""
    if not graphs:
        raise ArchlensError("nothing to draw")
    lines = [
        "digraph archlens {",
        '  graph [rankdir=TB, nodesep=0.25, ranksep=0.3, fontname="%s", fontsize=11, '
        'labelloc=t, labeljust=l, newrank=true, charset="UTF-8"];' % FONT,
        '  node [shape=box, style="rounded,filled", fontname="%s", fontsize=9, margin="0.08,0.04", '
        'penwidth=0.8, color="#555555"];' % FONT,
        '  edge [fontname="%s", fontsize=8, color="#666666", arrowsize=0.6, fontcolor="#444444"];' % FONT,
    ]
    single = len(graphs) == 1
    # One shading scale for everything drawn, so graphs side by side compare truthfully.
    color = graphs[0].color
    top = max((_value(node, color) for graph in graphs for node in graph.nodes), default=0)
    legend = ""
    if color != "none" and top > 0:
        graph, darkest = max(((g, n) for g in graphs for n in g.nodes), key=lambda gn: _value(gn[1], color))
        what = "MACs" if color == "macs" else "params"
        legend = (f"shade: {what} of each node{'' if single else ', one scale for all'} (darkest: "
                  f"{darkest.name}, {format_count(top)}, {100 * darkest.share:.1f}% of {graph.network})")
    if not single and legend:
        lines.append(f"  label=<{_html(legend)}>; labelloc=b;")
    for number, graph in enumerate(graphs):
        prefix = "" if single else f"g{number}_"
        indent = "  " if single else "    "
        heading = f"<B>{_html(graph.title)}</B><BR/>{_html(graph.subtitle)}"
        if single:
            lines.append(f"  label=<{heading}{'<BR/>' + _html(legend) if legend else ''}>;")
        else:
            lines += [f"  subgraph cluster_{prefix}graph {{", f"    label=<{heading}>;",
                      '    style="rounded"; color="#888888"; margin=12; labelloc=t;']
        lines += _graph_body(graph, prefix, indent, top)
        if not single:
            lines.append("  }")
    lines.append("}")
    return encodable("\n".join(lines) + "\n")  # a module's layer name may hold a lone surrogate


def _graph_body(graph: Graph, prefix: str, indent: str, top: int) -> list[str]:
    children: dict[str | None, list[str]] = {}
    for cluster in graph.clusters:
        children.setdefault(cluster.parent, []).append(cluster.name)
    members: dict[str | None, list[Node]] = {}
    for node in graph.nodes:
        members.setdefault(node.cluster, []).append(node)
    index = {cluster.name: number for number, cluster in enumerate(graph.clusters)}
    by_name = {cluster.name: cluster for cluster in graph.clusters}

    def node_line(node: Node, pad: str) -> str:
        fill, font = _fill(_value(node, graph.color), top, graph.color)
        shape = ', shape=ellipse, style="filled"' if node.kind == "input" else ""
        if node.kind in OWN_OPS:
            shape = ', shape=box, style="filled"'
        return (f"{pad}{prefix}{node.id} [label={_node_label(node)}, tooltip={_quoted(node.name)}, "
                f'fillcolor="{fill}", fontcolor="{font}"{shape}];')

    def emit(cluster: str | None, pad: str) -> list[str]:
        out = [node_line(node, pad) for node in members.get(cluster, [])]
        for name in children.get(cluster, []):
            info = by_name[name]
            fill, line = CLUSTER_STYLE.get(info.kind, DEFAULT_CLUSTER_STYLE)
            style = '"dashed,rounded"' if info.kind == "branch" else '"rounded,filled"'
            label = info.label if info.kind == "branch" else f"{info.label} ({info.kind})"
            out.append(f"{pad}subgraph cluster_{prefix}c{index[name]} {{")
            out.append(f'{pad}  label=<{_html(label)}>; labelloc=t; style={style}; fillcolor="{fill}"; color="{line}"; '
                       f"fontsize={9 if info.kind == 'branch' else 10};")
            out += emit(name, pad + "  ")
            out.append(f"{pad}}}")
        return out

    lines = emit(None, indent)
    for edge in graph.edges:
        attributes = []
        if edge.label:
            attributes.append(f"label={_quoted(' ' + edge.label)}")
        if edge.skip:
            attributes.append('style=dashed, color="#8a8a8a", constraint=false')
        text = f" [{', '.join(attributes)}]" if attributes else ""
        lines.append(f"{indent}{prefix}{edge.tail} -> {prefix}{edge.head}{text};")
    return lines


# --- drawing with graphviz ---

def dot_program() -> str | None:
    """The path of graphviz's ``dot``, or None."""
    return shutil.which("dot")


def render(dot_text: str, fmt: str) -> bytes:
    """Run ``dot -T<fmt>`` on ``dot_text``; ``fmt`` ``dot`` returns the text itself.

    Raises :class:`GraphvizMissing` when graphviz is not installed.
    """
    if fmt not in FORMATS:
        raise ArchlensError(f"unknown graph format {fmt!r}", hint=f"use one of: {', '.join(FORMATS)}")
    if fmt == "dot":
        return dot_text.encode("utf-8")
    program = dot_program()
    if program is None:
        raise GraphvizMissing("graphviz's `dot` program is not installed", hint=INSTALL_HINT)
    try:
        done = subprocess.run([program, f"-T{fmt}"], input=dot_text.encode("utf-8"), capture_output=True,
                              timeout=300, check=False, env=_reproducible_environment())
    except subprocess.TimeoutExpired:
        raise ArchlensError("graphviz took more than 5 minutes", hint="draw fewer layers with --depth 1") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ArchlensError(f"graphviz failed: {message[-1] if message else 'exit ' + str(done.returncode)}")
    return _fixed_pdf_date(done.stdout) if fmt == "pdf" else done.stdout


def _reproducible_environment() -> dict[str, str]:
    """graphviz's environment: UTC (cairo writes a local-time creation date, with the zone's offset, in
    any other zone) and ``SOURCE_DATE_EPOCH`` 0, which cairo 1.18 and later use instead of the clock."""
    import os

    return {**os.environ, "TZ": "UTC", "SOURCE_DATE_EPOCH": "0"}


_PDF_DATE = re.compile(rb"/CreationDate \(D:\d{14}(Z|[+-]\d\d'\d\d'?)\)")


def _fixed_pdf_date(pdf: bytes) -> bytes:
    """cairo stamps PDFs with the current time; the epoch instead, in UTC. The date keeps its length
    (``Z`` or a zone offset such as ``+09'00``, written ``+00'00``), so the PDF's byte offsets hold.

    >>> _fixed_pdf_date(b"<< /CreationDate (D:20261130050540+09'00) >>")
    b"<< /CreationDate (D:19700101000000+00'00) >>"
    """
    def epoch(match: re.Match) -> bytes:
        zone = match.group(1)
        return b"/CreationDate (D:19700101000000" + (b"Z" if zone == b"Z" else b"+00'00" + zone[6:]) + b")"

    return _PDF_DATE.sub(epoch, pdf, count=1)


def svg_for_html(svg: bytes, prefix: str = "") -> str:
    """graphviz SVG without its XML prolog and doctype, ready to sit inside an HTML page; ``prefix``
    goes before every element id (graphviz numbers ``graph0``, ``node1`` ... in each drawing, and ids
    must be unique in a page holding several)."""
    text = svg.decode("utf-8")
    start = text.find("<svg")
    text = text[start:] if start >= 0 else text
    return text.replace(' id="', f' id="{prefix}') if prefix else text

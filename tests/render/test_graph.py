"""Graphs: topology from the profile, labels, shading, deterministic DOT, graphviz drawing."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import archlens
from archlens.cli import main
from archlens.render import graph as G
from archlens.report import profile_targets
from tests.conftest import require_tool

ROOT = Path(__file__).resolve().parents[2]


def graph_targets(targets, *, depth=None, color="macs", block=None, **options):
    """What `archlens graph` draws: each target profiled, then drawn with its spec's notes."""
    return [G.graph_of(item.profile, item.spec, depth=depth, color=color, block=block)
            for item in profile_targets(targets, **options)]


def names(graph, edges):
    by_id = {node.id: node.name for node in graph.nodes}
    return [(by_id[e.tail], by_id[e.head]) for e in edges]


def test_top_level_graph_is_a_chain_of_the_table_rows():
    profile = archlens.profile("googlenet")
    graph = G.build_graph(profile, depth=1)
    rows = [row.name for row in profile.rollup(1)]
    assert [node.name for node in graph.nodes] == ["input", *rows]  # 23 rows, as in `archlens profile`
    assert names(graph, graph.edges) == list(zip(["input", *rows], rows))
    assert graph.node("inception_3a").kind == "inception"
    assert graph.node("inception_3a").macs == 128_049_152 and graph.node("inception_3a").params == 163_696
    assert graph.clusters == ()


def test_inception_module_is_a_cluster_with_four_branches_and_the_concat():
    graph, = graph_targets(["googlenet"])
    clusters = {c.name: c for c in graph.clusters}
    assert clusters["inception_3a"].kind == "inception"
    branches = [c.name for c in graph.clusters if c.parent == "inception_3a"]
    assert branches == [f"inception_3a.branch_{b}" for b in ("1x1", "3x3", "5x5", "pool")]
    pairs = names(graph, graph.edges)
    # pool2 fans out to the first layer of each branch; the last layer of each meets at the concat.
    assert [h for t, h in pairs if t == "pool2"] == [
        "inception_3a.branch_1x1.conv", "inception_3a.branch_3x3.reduce",
        "inception_3a.branch_5x5.reduce", "inception_3a.branch_pool.pool"]
    assert [t for t, h in pairs if h == "inception_3a"] == [
        "inception_3a.branch_1x1.conv", "inception_3a.branch_3x3.conv",
        "inception_3a.branch_5x5.conv", "inception_3a.branch_pool.proj"]
    concat = graph.node("inception_3a")
    assert concat.kind == "concat" and concat.cluster == "inception_3a" and concat.output_shape == (1, 256, 28, 28)
    # conv + ReLU is one node; the spec adds kernel and stride: 7x7 stride 2, 64 filters on 3 channels.
    conv1 = graph.node("conv1")
    assert conv1.parts == ("conv", "relu") and conv1.detail == "7x7/2"
    assert conv1.params == 7 * 7 * 3 * 64 + 64 and conv1.macs == 7 * 7 * 3 * 64 * 112 * 112
    # Nodes: input + 14 rows outside modules + 8 per module (6 convs, pool, concat) x 9.
    assert len(graph.nodes) == 87


def test_depth_two_collapses_branches_to_one_node_each():
    graph = G.build_graph(archlens.profile("googlenet"), depth=2)
    inside = [n.name for n in graph.nodes if n.cluster == "inception_4e"]
    assert inside == [f"inception_4e.branch_{b}" for b in ("1x1", "3x3", "5x5", "pool")] + ["inception_4e"]
    assert graph.node("inception_4e.branch_3x3").kind == "branch"
    assert [t for t, h in names(graph, graph.edges) if h == "inception_4e"] == inside[:4]


def test_edges_crossing_a_block_boundary_carry_the_tensor_shape():
    graph = G.build_graph(archlens.profile("googlenet"))
    labelled = [(t, h, e.label) for (t, h), e in zip(names(graph, graph.edges), graph.edges) if e.label]
    assert ("pool2", "inception_3a.branch_1x1.conv", "1x192x28x28") in labelled
    assert ("inception_3a", "inception_3b.branch_1x1.conv", "1x256x28x28") in labelled
    # one label per fan-out, none inside a module
    assert sum(1 for t, _, _ in labelled if t == "pool2") == 1
    assert not any(t.startswith("inception_3a.") for t, _, _ in labelled)


def test_aux_head_is_a_side_output():
    graph = G.build_graph(archlens.profile("googlenet", train=True))
    pairs = names(graph, graph.edges)
    assert ("inception_4a", "aux1.pool") in pairs
    assert ("inception_4a", "inception_4b.branch_1x1.conv") in pairs  # the main path goes on
    assert not any(t == "aux1.fc2" for t, _ in pairs)  # the head ends there


def test_naive_module_concatenates_all_input_channels():
    naive, = graph_targets(["googlenet-naive"], block="inception_3a")
    # 64 + 128 + 32 + the pool branch passing all 192 input channels = 416 (paper figure 2a)
    assert naive.node("inception_3a").output_shape == (1, 416, 28, 28)
    assert [n.name for n in naive.nodes][0] == "input" and naive.nodes[0].output_shape == (1, 192, 28, 28)


def test_color_by_params_darkens_the_largest_layer():
    graph = G.build_graph(archlens.profile("vgg16"), depth=1, color="params")
    top = max(graph.nodes, key=lambda n: n.share)
    assert top.name == "fc6" and top.params == 25088 * 4096 + 4096
    dot = G.to_dot([graph])
    assert "darkest: fc6" in dot and G.PALETTES["params"][-1] in dot
    plain = G.to_dot([G.build_graph(archlens.profile("vgg16"), depth=1, color="none")])
    assert set(re.findall(r'fillcolor="(#[0-9a-f]+)"', plain)) == {"#ffffff"}


def test_dot_is_byte_identical_across_processes():
    script = ("from archlens.render.graph import graph_of, to_dot; from archlens.report import profile_targets; "
              "import sys; sys.stdout.write(to_dot([graph_of(i.profile, i.spec) for i in profile_targets(['googlenet'])]))")
    outputs = {
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT,
                       env={**os.environ, "PYTHONHASHSEED": seed}).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1


HOSTILE = 'evil "net" <script>alert(1)</script> {braces} \\ & \'quote\''


def hostile_spec():
    return {"name": HOSTILE, "description": "</svg><script>x</script>",
            "layers": [{"conv": {"name": "c1", "out": 4, "kernel": 3}}, {"flatten": {}}]}


def test_user_strings_are_escaped_in_dot():
    dot = G.to_dot([G.build_graph(archlens.profile(hostile_spec()))])
    assert "<script>" not in dot and "&lt;script&gt;" in dot and "&quot;net&quot;" in dot


def test_graphviz_draws_escaped_names(tmp_path):
    require_tool("dot")
    svg = G.render(G.to_dot([G.build_graph(archlens.profile(hostile_spec()))]), "svg").decode()
    assert "<script" not in svg and "&lt;script&gt;alert(1)&lt;/script&gt;" in svg


def test_cli_writes_svg_from_the_suffix(tmp_path, capsys):
    require_tool("dot")
    out = tmp_path / "g.svg"
    assert main(["graph", "googlenet", "-o", str(out)]) == 0
    svg = out.read_text()
    assert svg.count('class="node"') == 87 and "inception_3a (inception)" in svg
    again = tmp_path / "again.svg"
    main(["graph", "googlenet", "-o", str(again)])
    assert again.read_bytes() == out.read_bytes()  # one graphviz version: same SVG bytes


def test_cli_module_figure_side_by_side(tmp_path):
    require_tool("dot")
    out = tmp_path / "modules.png"
    assert main(["graph", "googlenet", "googlenet-naive", "--block", "inception_3a", "-o", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_without_graphviz_writes_dot_and_says_how_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(G, "dot_program", lambda: None)
    out = tmp_path / "g.svg"
    assert main(["graph", "alexnet", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "apt-get install graphviz" in err and "Traceback" not in err
    assert not out.exists() and (tmp_path / "g.dot").read_text().startswith("digraph archlens {")


def test_cli_format_option_and_bad_suffix(tmp_path, capsys):
    out = tmp_path / "graph.txt"
    assert main(["graph", "alexnet", "-o", str(out)]) == 2
    assert "--format" in capsys.readouterr().err
    assert main(["graph", "alexnet", "-o", str(out), "--format", "dot", "--depth", "1"]) == 0
    assert out.read_text() == G.to_dot(graph_targets(["alexnet"], depth=1))


def test_module_target_is_a_chain_with_clusters(tmp_path, monkeypatch):
    (tmp_path / "graph_models.py").write_text(
        "import torch\n"
        "from torch import nn\n"
        "class Block(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.a = nn.Conv2d(8, 8, 3, padding=1)\n"
        "        self.b = nn.Conv2d(8, 8, 1)\n"
        "    def forward(self, x):\n"
        "        return torch.relu(self.a(x)) + self.b(x)\n"
        "def tiny():\n"
        "    return nn.Sequential(nn.Conv2d(3, 8, 3), Block(), nn.Flatten(), nn.Linear(8 * 30 * 30, 10))\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    graph, = graph_targets(["graph_models:tiny"], input_shape=(1, 3, 32, 32))
    assert [c.name for c in graph.clusters] == ["1"]
    assert graph.node("1.a").macs == 8 * 8 * 9 * 30 * 30 and graph.node("1.a").cluster == "1"
    pairs = names(graph, graph.edges)
    assert pairs[0] == ("input", "0") and pairs[-1][1] == "3"
    assert len(pairs) == len(graph.nodes) - 1  # a chain: the torch engine sees calls, not branches


def test_pdf_carries_a_fixed_date(tmp_path):
    require_tool("dot")
    out = tmp_path / "alexnet.pdf"
    assert main(["graph", "alexnet", "-o", str(out)]) == 0
    pdf = out.read_bytes()
    assert pdf.startswith(b"%PDF") and b"/CreationDate (D:19700101000000Z)" in pdf  # not the clock


def test_pdf_is_reproducible_outside_utc(monkeypatch):
    """In another time zone cairo writes a local date with an offset (D:20261130050540+09'00), which
    the epoch fix-up once missed: two runs a second apart differed."""
    import time

    require_tool("dot")
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    dot = G.to_dot([G.build_graph(archlens.profile("alexnet"), depth=1)])
    first = G.render(dot, "pdf")
    time.sleep(1.1)
    assert G.render(dot, "pdf") == first
    assert re.search(rb"/CreationDate \(D:19700101000000(Z|\+00'00)\)", first)
    assert G._fixed_pdf_date(b"/CreationDate (D:20261130050540+09'00)") == b"/CreationDate (D:19700101000000+00'00)"


def test_block_at_depth_two_and_aux_cluster_in_dot():
    graph, = graph_targets(["googlenet"], block="inception_4e", depth=2)
    assert [n.name for n in graph.nodes] == ["input", *(f"inception_4e.branch_{b}" for b in ("1x1", "3x3", "5x5", "pool")),
                                             "inception_4e"]
    assert graph.nodes[0].output_shape == (1, 528, 14, 14)  # Table 1: 4e reads 528 channels
    dot = G.to_dot(graph_targets(["googlenet"], train=True, depth=2))
    assert "aux1 (aux)" in dot and "aux2 (aux)" in dot


def test_unknown_color_and_depth_zero_are_errors():
    profile = archlens.profile("alexnet")
    with pytest.raises(archlens.ArchlensError, match="unknown color"):
        G.build_graph(profile, color="flops")
    with pytest.raises(archlens.ArchlensError, match="depth must be at least 1"):
        G.build_graph(profile, depth=0)


def test_block_header_shows_the_blocks_totals():
    """`graph --block inception_3a` headed the drawing with the whole network's 7.00 M params and 1.58 G MACs."""
    graph = G.build_graph(archlens.profile("googlenet"), block="inception_3a")
    # inception_3a (Table 1): 163,696 params, 128,049,152 MACs of 1,582,671,872 (8.1 %), on 192x28x28
    assert graph.subtitle == ("input 1x192x28x28 · every layer · params 163.70 K · MACs 128.05 M "
                              "(8.1% of googlenet's MACs)")
    assert G.build_graph(archlens.profile("googlenet")).subtitle.endswith("params 7.00 M · MACs 1.58 G")
    assert "params 163.70 K · MACs 128.05 M" in G.to_dot([graph])

"""Reports: the data gathered, the HTML page (self-contained, escaped, reproducible), the Markdown flavour."""

import re
from pathlib import Path

import pytest

from archlens.cli import main
from archlens.render.html import render_html
from archlens.render.markdown_report import render_markdown_report
from archlens.report import build_report
from tests.conftest import require_tool

HOSTILE = 'evil "net" <script>alert(1)</script> {x}'


@pytest.fixture(scope="module")
def comparison_report():
    return build_report(["googlenet", "alexnet", "vgg16"], limits={"max_macs": "2G"})


@pytest.fixture(scope="module")
def comparison_html(comparison_report):
    return render_html(comparison_report)


def test_report_gathers_the_analyses_that_apply(comparison_report):
    report = comparison_report
    assert [s.profile.name for s in report.networks] == ["googlenet", "alexnet", "vgg16"]
    assert report.comparison.baseline.name == "googlenet"
    assert report.inception.network == "googlenet" and len(report.inception.modules) == 9
    assert report.claims is not None
    assert [s.table1 is not None for s in report.networks] == [True, False, False]
    # 2 G MACs: googlenet (1,582,671,872) and alexnet (724,406,816) fit, vgg16 (15,470,264,320) does not
    assert [b.ok for b in report.budgets] == [True, True, False]


def test_a_single_network_over_budget_shows_its_budget():
    page = render_html(build_report(["googlenet"], limits={"max_macs": "1.5G"}))  # the report is falsy: over
    assert '<h2 id="budgets">Budgets</h2>' in page and "googlenet: OVER BUDGET (1 of 1 limits exceeded)" in page
    assert '<td class="num">-82,671,872 (-82.67 M)</td>' in page


SMALL_CNN = {"name": "smallcnn", "budget": {"max_params": "1M"}, "input": {"channels": 3, "height": 32, "width": 32},
             "layers": [{"conv": {"name": "c1", "out": 16, "kernel": 3, "padding": 1}}, {"relu": {}},
                        {"maxpool": {"kernel": 2, "stride": 2}}, {"conv": {"name": "c2", "out": 32, "kernel": 3}},
                        {"flatten": {}}, {"linear": {"name": "fc", "out": 10}}]}


def navigation_and_sections(page: str) -> tuple[list[str], list[str]]:
    """The navigation's targets, and every id they name in the order the page holds them."""
    body = page[page.index("</head>"):]
    nav = re.search(r'<nav class="toc">(.*?)</nav>', body, re.S).group(1)
    targets = re.findall(r'href="#([^"]+)"', nav)
    places = {target: body.index(f'id="{target}"') for target in targets if f'id="{target}"' in body}
    return targets, sorted(places, key=places.get)


@pytest.mark.parametrize("targets", [["smallcnn.yaml"], ["googlenet"], ["googlenet", "alexnet"]])
def test_navigation_order_is_page_order(tmp_path, targets):
    """The one-network report's navigation listed the analyses before the network the page opens with."""
    import yaml

    (tmp_path / "smallcnn.yaml").write_text(yaml.safe_dump(SMALL_CNN))
    paths = [str(tmp_path / t) if t.endswith(".yaml") else t for t in targets]
    page = render_html(build_report(paths, limits={"max_macs": "30G"}))
    listed, present = navigation_and_sections(page)
    assert listed == present  # every section the navigation names exists, in the same order
    assert "budgets" in listed
    if len(targets) == 1 and targets[0] == "googlenet":
        assert listed == ["net-googlenet", "budgets", "claims", "inception"]


def test_one_network_report_with_a_budget_has_a_budgets_section(tmp_path, capsys):
    """`report smallcnn.yaml --max-macs 30M` (the README's example) had no Budgets section; the spec's own
    budget: counts too, and the Markdown report shows the budget once (it showed it twice)."""
    import yaml

    spec = tmp_path / "smallcnn.yaml"
    spec.write_text(yaml.safe_dump(SMALL_CNN))
    assert main(["report", str(spec), "--max-macs", "30M", "-o", str(tmp_path / "r.html")]) == 0
    page = (tmp_path / "r.html").read_text()
    assert '<a href="#budgets">Budgets</a>' in page and '<h2 id="budgets">Budgets</h2>' in page
    assert "smallcnn: within budget (2 limits)" in page  # --max-macs and the spec's max_params
    assert main(["report", str(spec), "-o", str(tmp_path / "spec-only.html")]) == 0  # the spec's budget alone
    assert '<h2 id="budgets">Budgets</h2>' in (tmp_path / "spec-only.html").read_text()
    assert main(["report", str(spec), "--max-macs", "30M", "-o", str(tmp_path / "r.md")]) == 0
    markdown = (tmp_path / "r.md").read_text()
    assert markdown.count("## Budgets") == 1 and markdown.count("smallcnn: within budget (2 limits)") == 1


def test_single_network_report_has_no_comparison():
    report = build_report(["alexnet"])
    assert report.single and report.comparison is None and report.claims is None and report.inception is None


def test_html_is_self_contained(comparison_html):
    page = comparison_html
    assert page.count("* plotly.js v") == 1  # inlined once, in the head
    without_js = page.replace(page[page.index("<script>"):page.index("</script>")], "")
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', without_js)
    assert "<link" not in without_js and "@import" not in without_js


def test_html_shows_the_figures(comparison_html):
    page = comparison_html
    for figure in ("6,998,552", "1,582,671,872", "60,965,224", "15,470,264,320"):
        assert figure in page
    assert 'id="comparison"' in page and 'id="claims"' in page and 'id="inception"' in page and 'id="budgets"' in page
    assert "GoogLeNet paper, Table 1, reproduced on googlenet" in page
    # one chart a layer-MACs, layer-params and treemap per network, 2 comparison and 2 study charts
    assert len(re.findall(r'<div id="chart-\d+" class="plotly-graph-div"', page)) == 3 * 3 + 2 + 2
    assert page.count('<div class="graph" data-graph="top">') == 3


def test_html_is_reproducible(comparison_report, comparison_html):
    assert render_html(comparison_report) == comparison_html


def test_html_escapes_user_strings():
    spec = {"name": HOSTILE, "description": "</p><script>alert(2)</script>",
            "metadata": {"notes": "<img src=x onerror=alert(3)>"},
            "layers": [{"conv": {"name": "c1", "out": 4, "kernel": 3}}, {"flatten": {}}, {"linear": {"out": 2}}]}
    page = render_html(build_report([spec]))
    body = page[page.index("</head>"):]
    assert "<script>alert" not in body and "&lt;script&gt;alert(2)" in body
    assert "\\u003cscript\\u003ealert(1)" in body or "&lt;script&gt;alert(1)" in body


def test_markdown_report_files(comparison_report):
    files = render_markdown_report(comparison_report, "cmp.md")
    markdown = files["cmp.md"]
    images = re.findall(r"\]\((cmp/[^)]+\.svg)\)", markdown)
    assert set(images) <= set(files) and len(set(images)) == len(images)
    assert {"cmp/size.svg", "cmp/params-vs-macs.svg", "cmp/inception-modules.svg"} <= set(images)
    assert all(str(files[name]).lstrip("b'").startswith(("<svg", "<?xml")) for name in files if name != "cmp.md")
    assert "## Comparison" in markdown and "| MACs | 1,582,671,872 | 724,406,816 | 15,470,264,320 |" in markdown


def test_cli_report_html_and_md(tmp_path, capsys):
    require_tool("dot")
    assert main(["report", "alexnet", "vgg16", "-o", str(tmp_path / "r.html")]) == 0
    page = (tmp_path / "r.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page
    assert main(["report", "alexnet", "-o", str(tmp_path / "one.md")]) == 0
    assert (tmp_path / "one" / "alexnet-graph.svg").exists()
    err = capsys.readouterr().err
    assert "wrote" in err and "\r" not in err  # no progress bar when stderr is not a terminal


def test_cli_report_needs_a_known_suffix(tmp_path, capsys):
    assert main(["report", "alexnet", "-o", str(tmp_path / "r.txt")]) == 2
    assert "--format" in capsys.readouterr().err


def test_progress_bar_goes_to_stderr_only(tmp_path, capsys, monkeypatch):
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    out_file = tmp_path / "two.md"
    assert main(["report", "alexnet", "vgg16", "-o", str(out_file)]) == 0
    out, err = capsys.readouterr()
    assert out == "" and "wrote" in err and out_file.exists()


def test_accuracy_chart_needs_two_published_accuracies():
    from archlens.render import charts

    one = build_report(["googlenet", "vgg16"]).comparison        # only vgg16's spec carries accuracy
    two = build_report(["alexnet-torchvision", "vgg16"]).comparison
    assert charts.accuracy_macs_scatter(one) is None
    figure = charts.accuracy_macs_scatter(two)
    assert [trace.y[0] for trace in figure.data] == [56.522, 71.592]  # torchvision's published top-1


def test_comparison_links_reach_each_section(comparison_html):
    for target in re.findall(r'<a href="#([^"]+)">', comparison_html):
        assert f'id="{target}"' in comparison_html


def test_treemap_hierarchy_adds_up():
    import archlens
    from archlens.render.charts import hierarchy_frame

    frame = hierarchy_frame(archlens.profile("googlenet"))
    values = dict(zip(frame["id"], frame["value"]))
    assert sum(v for i, v in values.items() if "." not in i) == 1_582_671_872  # the blocks make the whole
    assert values["inception_3a.branch_3x3"] == 14_450_688 + 86_704_128  # 1x1 reduce + 3x3 conv
    assert "conv1.conv" not in values and values["conv1"] == 118_013_952  # a conv unit is one rectangle
    for ident, parent in zip(frame["id"], frame["parent"]):  # every parent holds the sum of its children
        if parent:
            assert values[parent] >= values[ident]


def test_two_related_networks_get_a_diff_section(tmp_path):
    report = build_report(["googlenet", "googlenet-naive", "alexnet"])
    assert [(d.a.name, d.b.name) for d in report.diffs] == [("googlenet", "googlenet-naive")]  # alexnet: unrelated
    page = render_html(report)
    assert '<a href="#diff-googlenet-naive">Diff: googlenet-naive</a>' in page
    assert '<h2 id="diff-googlenet-naive">googlenet → googlenet-naive, layer by layer</h2>' in page
    assert "+10,985,389,184" in page and "1x256x28x28 → 1x416x28x28" in page
    files = render_markdown_report(report, "r.md")
    assert "## googlenet → googlenet-naive, layer by layer" in files["r.md"] and "r/diff-googlenet-naive.svg" in files
    assert build_report(["googlenet", "alexnet"]).diffs == ()


def test_layer_bars_give_each_block_its_own_colour_and_name_the_layers():
    """The bars reused 8 colours across GoogLeNet's 13 blocks (conv1 and inception_4d shared one) and named
    no layer on the axis."""
    import archlens
    from archlens.render import charts

    figure = charts.layer_bars(archlens.profile("googlenet"), "macs")
    blocks = [trace.name for trace in figure.data]
    assert blocks == ["conv1", "conv2_reduce", "conv2", "inception_3a", "inception_3b", "inception_4a",
                      "inception_4b", "inception_4c", "inception_4d", "inception_4e", "inception_5a", "inception_5b",
                      "fc"]
    assert len({trace.marker.color for trace in figure.data}) == 13  # one colour a block
    assert figure.layout.xaxis.showticklabels and figure.layout.meta == {"names_toggle": True}
    assert "inception_3a.branch_3x3.reduce" in figure.data[3].x  # a conv unit by its name, not ...reduce.conv
    assert sum(len(trace.x) for trace in figure.data) == 58  # 57 convolutions and the classifier


def test_more_blocks_than_colours_are_coloured_by_kind():
    from archlens.counting.analytic import profile_spec
    from archlens.render import charts
    from archlens.spec import load_spec

    layers = [{"conv": {"name": f"c{i}", "out": 4, "kernel": 1}} for i in range(24)]
    spec = load_spec({"name": "deep", "input": {"channels": 3, "height": 8, "width": 8},
                      "layers": [*layers, {"flatten": {}}, {"linear": {"name": "fc", "out": 2}}]})
    figure = charts.layer_bars(profile_spec(spec), "params")
    assert len(figure.data) == 25 and [t.name for t in figure.data if t.showlegend] == ["conv", "linear"]
    assert len({trace.marker.color for trace in figure.data}) == 2


def test_treemap_is_readable_and_bytes_have_their_own_axis():
    import archlens
    from archlens.render import charts

    treemap = charts.compute_treemap(archlens.profile("googlenet")).data[0]
    assert treemap.maxdepth == 2 and treemap.pathbar.visible is False
    bars = charts.layer_bars(archlens.profile("googlenet"))
    block_color = {trace.name: trace.marker.color for trace in bars.data}
    colors = dict(zip(treemap.ids, treemap.marker.colors))
    assert colors["inception_4d"] == colors["inception_4d.branch_3x3"] == block_color["inception_4d"]
    layout = charts.compute_treemap(archlens.profile("googlenet")).layout
    assert layout.uniformtext.minsize >= 11 and layout.uniformtext.mode == "hide"  # too small: hover, not 4 px text
    figure = charts.comparison_bars(build_report(["googlenet", "alexnet"]).comparison)
    axes = {trace.x[0]: trace.yaxis for trace in figure.data}
    assert axes == {"params": "y", "activations": "y2"}  # counts and bytes apart
    assert figure.layout.yaxis2.title.text == "bytes (log scale)" and figure.layout.yaxis.title.text == "count (log scale)"


def test_html_layer_table_has_search_and_column_filters(comparison_html):
    page = comparison_html
    assert page.count('<input type="search" class="search"') == 3  # one a network
    assert '<select data-column="2" aria-label="filter by kind"><option value="">all</option>' in page
    assert '<tr data-name="inception_3a.branch_3x3.reduce.conv">' in page
    assert "plotly_treemapclick" in page and 'data-names="chart-' in page


def test_layer_labels_stay_unique_where_a_unit_has_a_batchnorm():
    """A bar a layer: conv1.conv and conv1.bn of googlenet-torchvision must not share one category."""
    import archlens
    from archlens.render import charts

    profile = archlens.profile("googlenet-torchvision")
    frame = charts.layers_frame(profile)
    assert frame["label"].is_unique and len(frame) == sum(1 for l in profile.layers if l.params or l.macs)
    assert {"conv1.conv", "conv1.bn"} <= set(frame["label"])


def test_markdown_report_of_a_training_step_shows_its_cards():
    """The Markdown report, like the HTML one, names the step and gives each network its backward MACs,
    optimizer and peak memory. ResNet-18 by hand: 11,689,512 parameters; AdamW 14 ops each
    (163,653,168); params and grads 4 bytes each (44.59 MiB); two fp32 states each (89.18 MiB) plus
    62 step counters (one a parameter tensor: 21 convolutions, 20 BatchNorms x 2, fc x 2)."""
    report = build_report(["resnet18"], step_kind="train")
    markdown = render_markdown_report(report, "r.md")["r.md"]
    assert "Networks: resnet18 · training step (AdamW)." in markdown
    params = 11_689_512
    assert 14 * params == 163_653_168
    assert "- **Optimizer (AdamW):** 163.65 M elementwise ops on 11,689,512 trainable parameters" in markdown
    assert "params 44.59 MiB + grads 44.59 MiB + optimizer state 89.18 MiB" in markdown
    assert round(4 * params / 2**20, 2) == 44.59 and round((8 * params + 4 * 62) / 2**20, 2) == 89.18

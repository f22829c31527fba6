"""Everything downstream works on the networks after GoogLeNet: check with block budgets, fit by
width and by resolution (residual widths staying consistent), graphs that stay readable, show."""

import json
import re

import pytest
import yaml

import archlens
from archlens.cli import main
from archlens.render import graph
from archlens.spec import dump_yaml, expand, load_spec


def test_check_holds_every_block_of_a_stage_to_a_budget(capsys):
    code = main(["check", "resnet50", "--max-macs", "5G", "--block", "layer3.*:max_macs=200M", "-f", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    blocks = {item["scope"]: item for item in report["checks"] if item["pattern"]}
    assert sorted(blocks) == [f"layer3.{i}" for i in range(6)]
    # layer3.1 by hand, 14x14 positions: 1x1 1024->256, 3x3 256->256, 1x1 256->1024
    assert blocks["layer3.1"]["measured"] == 196 * (1024 * 256 + 256 * 256 * 9 + 256 * 1024) == 218_365_952
    # layer3.0 adds the 1x1/2 projection 512->1024 and reads its 1x1 from 512 channels at 28x28
    assert blocks["layer3.0"]["measured"] == (784 * 512 * 256 + 196 * (256 * 256 * 9 + 256 * 1024 + 512 * 1024))
    assert [item["ok"] for item in report["checks"] if not item["pattern"]] == [True]


@pytest.mark.parametrize("name, limit", [("resnet50", "2G"), ("mobilenet-v2", "150M"), ("convnext-tiny", "3G"),
                                         ("shufflenet-v2-x1-0", "100M"), ("densenet121", "2G")])
def test_fit_by_width_keeps_residual_widths_consistent(name, limit, tmp_path):
    result = archlens.fit(name, max_macs=limit)
    assert result.report.ok and result.value < 1
    written = tmp_path / "fitted.yaml"
    written.write_text(result.to_yaml())
    fitted = load_spec(written)  # every add and concatenation fits: expansion checks each shape
    assert archlens.profile(fitted).totals.macs <= archlens.units.parse_quantity(limit)
    assert archlens.check(fitted).ok


def test_fit_by_resolution_on_a_network_with_blocks():
    result = archlens.fit("efficientnet-b0", vary="resolution", max_macs="1G")
    assert result.report.ok and result.value % 8 == 0 and result.value > 224
    assert archlens.profile(result.spec).input_shape[2:] == (result.value, result.value)


@pytest.mark.parametrize("name, most", [("resnet152", 40), ("efficientnet-b7", 80), ("regnet-y-128gf", 60),
                                        ("densenet201", 60)])
def test_graphs_stay_readable_at_the_default_depth(name, most):
    # a repeat is drawn as its first block and one node for the rest: ResNet-152 has 4 stages of
    # 3, 8, 36 and 3 bottlenecks, 50 blocks, and stays a page long
    drawn = graph.graph_of(archlens.profile(name), load_spec(name))
    assert len(drawn.nodes) <= most
    folded = [node.label for node in drawn.nodes if "alike" in node.label]
    if name == "resnet152":
        assert folded == ["1-2 (2 alike)", "1-7 (7 alike)", "1-35 (35 alike)", "1-2 (2 alike)"]
    every = graph.graph_of(archlens.profile(name), load_spec(name), fold=False)
    assert len(every.nodes) > len(drawn.nodes)


def test_residual_shortcuts_are_drawn_as_skips():
    drawn = graph.graph_of(archlens.profile("resnet50"), load_spec("resnet50"), block="layer1", fold=False)
    by_id = {node.id: node for node in drawn.nodes}
    skips = [(by_id[e.tail].name, by_id[e.head].name) for e in drawn.edges if e.skip]
    # blocks 1 and 2 add their input (the previous block's ReLU); block 0 projects it
    assert skips == [("layer1.0.relu", "layer1.1"), ("layer1.1.relu", "layer1.2")]
    into_first_add = sorted(by_id[e.tail].name for e in drawn.edges if by_id[e.head].name == "layer1.0")
    assert into_first_add == ["layer1.0.conv3", "layer1.0.shortcut"]
    dot = graph.to_dot([drawn])
    assert dot.count("style=dashed") == 2


def test_show_output_of_every_family_loads_back_as_the_same_network():
    for name in ("resnext50-32x4d", "mobilenet-v3-large", "efficientnet-v2-s", "regnet-x-400mf", "squeezenet1-1",
                 "inception-resnet-v2"):
        spec = load_spec(name)
        shown = dump_yaml(expand(spec))
        assert not re.search(r"^blocks:|\$", shown, re.M)  # no blocks, no parameters left
        again = load_spec(yaml.safe_load(shown))
        assert archlens.profile(again).to_json() == archlens.profile(spec).to_json(), name

"""archlens diff: two networks layer by layer, matched by name (by position where names differ).

The figures are checked by hand. inception_3a naive (paper figure 2a) on its 192x28x28 input: 1x1 to 64
(192 x 64 + 64 params), 3x3 to 128 (192 x 9 x 128 + 128), 5x5 to 32 (192 x 25 x 32 + 32), and the pool
branch passes all 192 channels on: 387,296 params, 387,072 x 28 x 28 = 303,464,448 MACs, 416 channels out.
"""

import json

import pytest

import archlens
from archlens.analysis.diff import Diff, diff, match_layers
from archlens.cli import main

NINE = ["inception_3a", "inception_3b", "inception_4a", "inception_4b", "inception_4c", "inception_4d",
        "inception_4e", "inception_5a", "inception_5b"]


@pytest.fixture(scope="module")
def naive():
    return diff("googlenet", "googlenet-naive")


def test_the_nine_inception_modules_explain_the_8x(naive):
    assert naive.totals["macs"] == (1_582_671_872, 12_568_061_056)
    assert round(naive.totals["macs"].ratio, 2) == 7.94 and naive.totals["params"].b == 97_526_008
    rows = {row.name: row for row in naive.rows}
    assert rows["inception_3a"].figure("params") == (163_696, 387_296)
    assert rows["inception_3a"].figure("macs") == (128_049_152, 303_464_448)
    assert rows["inception_3a"].b.output_shape == (1, 416, 28, 28)
    nine = sum(rows[name].figure("macs").change for name in NINE)
    classifier = rows["fc"].figure("macs").change  # fc reads 4944 channels instead of 1024: 3,920 x 1000 more
    assert classifier == (4944 - 1024) * 1000 and nine + classifier == naive.totals["macs"].change
    kind, change, share = naive.change_by_kind("macs")[0]
    assert kind == "inception" and change == nine and share > 0.999
    # the top-level blocks before the first module, and the softmax, are the same in both
    assert [row.name for row in naive.rows if row.status == "same"] == [
        "conv1", "pool1", "norm1", "conv2_reduce", "conv2", "norm2", "pool2", "softmax"]


def test_the_table_is_one_readable_table(naive):
    text = str(naive)
    lines = text.splitlines()
    assert lines[0] == "A = googlenet (1x3x224x224), B = googlenet-naive (1x3x224x224): top-level blocks, matched by name"
    shown = [line.split()[0] for line in lines[3:] if line.startswith(" inception_") or line.startswith(" fc ")]
    assert shown == [*NINE, "fc"]
    assert " inception_3a   inception   1x256x28x28 → 1x416x28x28 " in text
    assert "- 8 rows the same in both, not shown: conv1, pool1, norm1, conv2_reduce, conv2, norm2, pool2, softmax" in text
    assert "MACs: 1,582,671,872 → 12,568,061,056 (+10,985,389,184; B/A 7.94x; 1.58 G → 12.57 G)" in text
    assert "Where the MACs change comes from, by kind: inception x9 +10.98 G (100.0 %); linear +3.92 M (0.0 %)" in text
    assert len(str(Diff(naive.a, naive.b).view(show="all").tables[0].rows)) > len(str(naive.table().rows))


def spec(*layers, name="net"):
    return {"name": name, "input": {"channels": 3, "height": 16, "width": 16}, "layers": list(layers)}


def test_renamed_layers_match_by_position_and_extra_layers_are_one_sided():
    a = spec({"conv": {"name": "stem", "out": 8, "kernel": 3}}, {"conv": {"name": "body", "out": 16, "kernel": 3}},
             {"flatten": {"name": "flat"}}, {"linear": {"name": "fc", "out": 10}}, name="a")
    b = spec({"conv": {"name": "stem", "out": 8, "kernel": 3}}, {"conv": {"name": "body_wide", "out": 32, "kernel": 3}},
             {"conv": {"name": "extra", "out": 32, "kernel": 1}}, {"flatten": {"name": "flat"}},
             {"linear": {"name": "fc", "out": 10}}, name="b")
    result = diff(a, b)
    assert [(row.name, row.status, row.matched_by) for row in result.rows] == [
        ("stem", "same", "name"), ("body → body_wide", "changed", "position"), ("extra", "only_b", None),
        ("flat", "changed", "name"), ("fc", "changed", "name")]
    body = result.rows[1]
    # 3x3 conv, 8 -> 16 vs 8 -> 32 channels on a 14x14 map, out 12x12: 8 x 9 x 16 x 144 vs 8 x 9 x 32 x 144
    assert body.figure("macs") == (8 * 9 * 16 * 144, 8 * 9 * 32 * 144)
    assert result.rows[2].figure("params") == (0, 32 * 32 + 32)
    text = str(result)
    assert " body → body_wide " in text and "changed (by position)" in text and "only in B" in text
    assert result.to_dict()["counts"] == {"same": 1, "changed": 3, "only_a": 0, "only_b": 1}
    assert match_layers([], []) == ()


def test_a_fitted_spec_against_its_original(tmp_path, capsys):
    fitted = tmp_path / "fitted.yaml"
    assert main(["fit", "googlenet", "--max-macs", "1.5G", "-o", str(fitted)]) == 0
    capsys.readouterr()
    assert main(["diff", "googlenet", str(fitted), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["b"]["name"] == "googlenet-w0.968" and data["totals"]["macs"]["b"] <= 1_500_000_000
    assert data["counts"]["only_a"] == data["counts"]["only_b"] == 0  # the same layers, narrower
    rows = {row["a"]["name"]: row for row in data["rows"]}
    assert rows["fc"]["a"]["output_shape"] == rows["fc"]["b"]["output_shape"] == [1, 1000]  # the classes stay
    assert all(rows[name]["status"] == "changed" and rows[name]["macs_change"] < 0 for name in NINE)


def test_modules_are_diffed_by_the_torch_engine():
    nn = pytest.importorskip("torch.nn")
    narrow = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 16, 3))
    wide = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 32, 3))
    result = archlens.diff(narrow, wide, input_shape=(1, 3, 32, 32))
    assert [(row.name, row.status) for row in result.rows] == [("0", "same"), ("1", "same"), ("2", "changed")]
    # 3x3 conv 8 -> 16 or 32 channels, 30x30 in, 28x28 out
    assert result.rows[2].figure("macs") == (8 * 9 * 16 * 28 * 28, 8 * 9 * 32 * 28 * 28)
    assert result.a.engine == "torch"


def test_profiles_go_in_as_they_are_and_depth_zero_is_every_layer(capsys):
    a, b = archlens.profile("googlenet"), archlens.profile("googlenet-naive")
    every = diff(a, b, depth=None)
    names = [row.name for row in every.rows]
    assert "inception_3a.branch_3x3.reduce.conv" in names  # only googlenet has the 1x1 reductions
    assert {row.status for row in every.rows if ".reduce." in row.name} == {"only_a"}
    assert main(["diff", "googlenet", "googlenet-naive", "--depth", "0", "-f", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 + len(every.rows) and lines[0].startswith("status,matched_by,name_a,name_b")
    assert main(["diff", "googlenet", "googlenet-naive", "--all"]) == 0
    assert " conv1 " in capsys.readouterr().out


def test_unknown_targets_and_bad_depth_are_errors(capsys):
    assert main(["diff", "googlenet", "nosuchnet"]) == 2
    assert "unknown network 'nosuchnet'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="depth must be at least 1"):
        diff("alexnet", "alexnet", depth=0)


def test_html_is_a_small_self_contained_page(tmp_path, capsys):
    page_file = tmp_path / "diff.html"
    assert main(["diff", "googlenet", "googlenet-naive", "-o", str(page_file)]) == 0
    page = page_file.read_text()
    assert page.startswith("<!DOCTYPE html>") and "<title>googlenet → googlenet-naive · archlens</title>" in page
    assert '<div class="archlens-result">' in page and "+10,985,389,184" in page
    assert "<script" not in page and "http" not in page
    assert main(["diff", "googlenet", "googlenet-naive", "-f", "html", "--all"]) == 0
    assert "<td>conv1</td>" in capsys.readouterr().out

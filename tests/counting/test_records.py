"""Profile records: derived totals, roll-ups, and the export formats."""

import json

import archlens


def test_to_dataframe_has_one_row_per_layer_and_exact_integers():
    prof = archlens.profile("googlenet")
    frame = prof.to_dataframe()
    assert len(frame) == len(prof.layers)
    assert int(frame["macs"].sum()) == prof.totals.macs == 1_582_671_872
    assert {"name", "kind", "input_shape", "output_shape", "weights", "biases", "macs", "other_ops",
            "activation_bytes", "macs_share"} <= set(frame.columns)
    assert frame.loc[frame["name"] == "conv1.conv", "output_shape"].item() == "1x64x112x112"


def test_rollup_depth_two_shows_inception_branches():
    names = [row.name for row in archlens.profile("googlenet").rollup(2)]
    assert "inception_3a.branch_3x3" in names and "inception_3a" in names
    branch = {r.name: r for r in archlens.profile("googlenet").rollup(2)}["inception_3a.branch_3x3"]
    assert branch.kind == "branch" and branch.weights == 192 * 96 + 96 * 9 * 128


def test_vgg_stages_roll_up_as_blocks():
    rows = {r.name: r for r in archlens.profile("vgg16").rollup(1)}
    assert rows["stage1"].kind == "vgg_stage"
    assert rows["stage1"].macs == 224 * 224 * 64 * 3 * 9 + 224 * 224 * 64 * 64 * 9
    assert rows["stage1"].output_shape == (1, 64, 112, 112)


def test_macs_share_sums_to_one():
    data = json.loads(archlens.profile("alexnet").to_json(depth=1))
    assert abs(sum(layer["macs_share"] for layer in data["layers"]) - 1) < 1e-5


def test_repr_html_escapes():
    html = archlens.profile("googlenet")._repr_html_()
    assert html.startswith("<style>") and '<div class="archlens-result">' in html and "inception_3a" in html
    assert "<script" not in html


def test_csv_and_markdown_carry_totals():
    prof = archlens.profile("alexnet-torchvision")
    csv_text = prof.render("csv")
    assert csv_text.splitlines()[0].startswith("name,kind,input_shape,output_shape,params")
    assert len(csv_text.splitlines()) == len(prof.layers) + 1
    markdown = prof.render("markdown")
    assert "| **Total** |" in markdown and "**714,188,480**" in markdown

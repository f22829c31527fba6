"""The GoogLeNet paper's Table 1 reproduction: every printed row against our figures."""

import json

import pytest

from archlens.analysis.table1 import TABLE1, reproduce_table1
from archlens.cli import main
from archlens.errors import ArchlensError
from archlens.spec import load_spec
from tests.reference import INCEPTION_ROWS, TABLE1_PRINTED


def test_spec_transcribes_the_tables_channel_numbers():
    """Our googlenet spec's Inception numbers are the table's, row by row."""
    spec = {layer.name: layer for layer in load_spec("googlenet").layers}
    for paper in TABLE1:
        if paper.type.startswith("inception"):
            layer = spec[paper.layers[0]]
            ours = (layer.ch1x1, layer.ch3x3_reduce, layer.ch3x3, layer.ch5x5_reduce, layer.ch5x5, layer.pool_proj)
            assert ours == paper.reductions == INCEPTION_ROWS[paper.layers[0]][:6]
            assert (paper.params_k, paper.ops_m) == TABLE1_PRINTED[paper.layers[0]]


def test_every_row_has_the_papers_output_size_and_depth():
    for row in reproduce_table1().rows:
        assert row.output == row.paper.output, row.paper.type
        assert row.depth == row.paper.depth, row.paper.type


def test_rows_measured_by_hand():
    rows = {row.paper.type: row for row in reproduce_table1().rows}
    assert reproduce_table1().rows[0].weights == 7 * 7 * 3 * 64  # the 7x7/2 convolution
    assert rows["inception (3a)"].weights == 163_328 and rows["inception (3a)"].macs == 163_328 * 28 * 28
    assert rows["linear"].weights == 1024 * 1000
    second_conv = [row for row in reproduce_table1().rows if row.paper.type == "convolution"][1]
    assert second_conv.weights == 64 * 64 + 64 * 9 * 192 and second_conv.paper.params_k == 112


@pytest.mark.parametrize("row_type, verdict", [
    ("inception (3a)", "match"), ("inception (3b)", "rounding"),
    ("inception (4b)", "rounding"), ("inception (4c)", "differs"), ("inception (5a)", "differs"), ("linear", "match"),
])
def test_verdicts(row_type, verdict):
    rows = {row.paper.type: row for row in reproduce_table1().rows}
    assert rows[row_type].verdict == verdict


def test_first_convolution_differs_but_is_self_consistent():
    conv1 = reproduce_table1().rows[0]
    assert conv1.verdict == "differs" and conv1.paper_self_consistent  # 2.7K x 1024 x 112 x 112 = 34.7M


def test_papers_own_columns_disagree_for_4c_but_not_5a():
    rows = {row.paper.type: row for row in reproduce_table1().rows}
    # 463K x 1024 weights x 14 x 14 positions = 92.9M ops, yet the table prints 100M (our 99.85M).
    assert not rows["inception (4c)"].paper_self_consistent and rows["inception (4c)"].ops_agree
    # 1072K x 1024 x 7 x 7 = 53.8M, printed 54M: consistent with each other, not with the channels.
    assert rows["inception (5a)"].paper_self_consistent and not rows["inception (5a)"].ops_agree


def test_sums():
    table = reproduce_table1()
    assert table.weights == 6_990_272 and table.macs == 1_582_671_872
    assert table.printed_ops_m == 1502


def test_cli_paper_formats(capsys):
    assert main(["profile", "googlenet", "--paper"]) == 0
    out = capsys.readouterr().out
    assert "inception (4c)" in out and "the params figure is the odd one out" in out
    assert main(["profile", "googlenet", "--paper", "-f", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["rows"]) == len(TABLE1) and data["sums"]["macs"] == 1_582_671_872


def test_paper_needs_googlenet_names(capsys):
    with pytest.raises(ArchlensError, match="vgg16 has no layers named"):
        reproduce_table1("vgg16")
    assert main(["profile", "vgg16", "--paper"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_paper_on_another_network_says_table1_is_googlenets(capsys):
    """`profile alexnet --paper` said only "has no layers named conv2_reduce ..."."""
    assert main(["profile", "alexnet", "--paper"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("archlens: error: Table 1 is GoogLeNet's: the paper prints it for GoogLeNet only, and "
                          "alexnet has no layers named conv2_reduce")
    assert err.rstrip().endswith("archlens profile googlenet --paper") and err.count("\n") == 1

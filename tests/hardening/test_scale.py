"""Numbers at scale: counts are Python integers end to end, exact past 2^53 (where a float would
round) and past PyTorch's 64-bit sizes; where PyTorch cannot follow, the error names the layer."""

import json

import pytest

import archlens
from archlens.cli import main
from archlens.errors import ShapeError, UnitError
from archlens.units import flops, format_int, parse_quantity

WIDE = {
    "name": "wide",
    "input": {"channels": 64, "height": 4096, "width": 4096},
    "layers": [
        {"conv": {"name": "wide", "out": 1_000_003, "kernel": 3, "padding": 1, "activation": "none"}},
        {"adaptive_avgpool": {"name": "gap", "output": 1}},
        {"flatten": {"name": "flat"}},
        {"linear": {"name": "fc", "out": 999}},
    ],
}
# By hand: a 3x3 convolution, 64 -> 1,000,003 channels, on 4096 x 4096 (padding keeps the size),
# then a 1,000,003 -> 999 linear layer (odd, so the total is odd: no float above 2^53 is).
CONV_MACS = 1_000_003 * 64 * 3 * 3 * 4096 * 4096
FC_MACS = 1_000_003 * 999
PARAMS = 1_000_003 * 64 * 9 + 1_000_003 + 1_000_003 * 999 + 999


def test_the_hand_figures_are_beyond_float_precision():
    total = CONV_MACS + FC_MACS
    assert total == 9_663_706_406_032_245 and total > 2**53
    assert int(float(total)) != total  # a float on the way would have changed the answer


@pytest.mark.parametrize("engine", ["analytic", "torch"])
def test_counts_are_exact_past_2_to_the_53(engine):
    profile = archlens.profile(WIDE, engine=engine)
    assert profile.totals.macs == CONV_MACS + FC_MACS
    assert profile.totals.flops == 2 * (CONV_MACS + FC_MACS) == flops(CONV_MACS + FC_MACS)
    assert profile.totals.params == PARAMS
    conv = next(layer for layer in profile.layers if layer.name == "wide")
    assert conv.output_shape == (1, 1_000_003, 4096, 4096)
    assert conv.activation_bytes == 1_000_003 * 4096 * 4096 * 4


def test_every_output_format_prints_the_exact_integers():
    profile = archlens.profile(WIDE)
    assert json.loads(profile.to_json())["totals"]["macs"] == 9_663_706_406_032_245
    assert '"macs": 9663706406032245,' in profile.to_json()
    rows = profile.render("csv").splitlines()
    column = rows[0].split(",").index("macs")
    assert sum(int(row.split(",")[column]) for row in rows[1:]) == 9_663_706_406_032_245
    assert "9,663,706,406,032,245" in profile.render("table", depth=1)
    assert "9,663,706,406,032,245" in profile.render("markdown", depth=1)
    assert format_int(10**30 + 1) == "1,000,000,000,000,000,000,000,000,000,001"


VAST = {"name": "vast", "input": {"channels": 3, "height": 8, "width": 8},
        "layers": [{"conv": {"name": "wide", "out": 10**20, "kernel": 3}}]}


def test_the_analytic_engine_has_no_size_limit():
    profile = archlens.profile(VAST)
    assert profile.totals.macs == 10**20 * 3 * 9 * 6 * 6
    assert profile.totals.params == 10**20 * 3 * 9 + 10**20


@pytest.mark.parametrize("engine", ["torch", "fvcore"])
def test_beyond_pytorchs_sizes_the_torch_engines_name_the_layer(engine, capsys):
    if engine == "fvcore":
        pytest.importorskip("fvcore")
    with pytest.raises(ShapeError) as caught:
        archlens.profile(VAST, engine=engine)
    assert str(caught.value) == (
        "wide.conv: its output 1x100000000000000000000x6x6 has more than 2^63 - 1 elements, PyTorch's limit; "
        "the analytic engine counts it exactly: use --engine analytic"
    )


@pytest.mark.parametrize("text_in, expected", [
    ("123456789012345678901234567890", 123456789012345678901234567890),  # 30 digits: past Decimal's default 28
    ("9.007199254740993P", 2**53 + 1),
    ("1e99", 10**99),
])
def test_quantities_parse_exactly(text_in, expected):
    assert parse_quantity(text_in) == expected


@pytest.mark.parametrize("text_in", ["1e400", "1e999999999", "1" + "0" * 5000])
def test_absurd_quantities_are_refused_quickly(text_in):
    with pytest.raises(UnitError, match="is too large"):
        parse_quantity(text_in)


def test_an_absurd_budget_on_the_command_line_is_one_line(capsys):
    assert main(["check", "googlenet", "--max-params", "1" + "0" * 5000]) == 2
    assert capsys.readouterr().err == (
        "archlens: error: max_params '1000000000000000000000000000000000000000' is too large (more than 100 digits)\n"
    )


@pytest.mark.parametrize("value, expected", [
    (10**50, "100000000000000000000000000000000000.00 P"),  # a float prints ...996863366107917975552.00
    (10**30 + 5 * 10**12, "1000000000000000.01 P"),  # half up, from the integers
    (-(10**33), "-1000000000000000000.00 P"),
    (6_624_904, "6.62 M"),  # below 10^15 units: unchanged
])
def test_huge_counts_are_rounded_from_the_integers(value, expected):
    from archlens.units import format_count

    assert format_count(value) == expected

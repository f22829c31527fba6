"""The paper's claims: measured figures and verdicts, each checkable by hand."""

import pytest

from archlens.analysis.claims import (
    DOES_NOT_HOLD,
    HOLDS,
    HOLDS_WITHIN,
    building_blocks,
    paper_claims,
    verdict,
)
from archlens.counting.analytic import profile_spec
from archlens.spec import load_spec


@pytest.fixture(scope="module")
def claims():
    return {claim.key: claim for claim in paper_claims().claims}


def test_twelve_times_fewer_parameters_does_not_hold(claims):
    claim = claims["params_vs_alexnet"]
    assert claim.measured == (pytest.approx(60_965_224 / 6_998_552),)  # 8.71x, not 12x
    assert claim.verdict == DOES_NOT_HOLD
    assert claim.deviation == pytest.approx(60_965_224 / 6_998_552 / 12 - 1)
    figures = {figure.label: figure.value for figure in claim.figures}
    assert figures["alexnet-torchvision / googlenet"] == pytest.approx(61_100_840 / 6_998_552)
    assert figures["googlenet params that 12x would need"] == round(60_965_224 / 12)
    # Table 1's params column: 2.7 + 112 + 159 + 380 + 364 + 437 + 463 + 580 + 840 + 1072 + 1388 + 1000 K
    assert figures["Table 1 params column, summed (K = 1024)"] == round(6797.7 * 1024)
    assert figures["googlenet without the classifier"] == 6_998_552 - (1024 * 1000 + 1000)


def test_budget_of_one_and_a_half_billion_holds_within_five_and_a_half_percent(claims):
    claim = claims["budget_1_5g"]
    assert claim.measured == (1_582_671_872,)
    assert claim.verdict == HOLDS_WITHIN
    assert claim.deviation == pytest.approx(82_671_872 / 1_500_000_000)  # 5.5 %
    figures = {figure.label: figure.value for figure in claim.figures}
    # Table 1 ops: 34 + 360 + 128 + 304 + 73 + 88 + 100 + 119 + 170 + 54 + 71 + 1 = 1502 M
    assert figures["Table 1 ops column, summed"] == 1_502_000_000
    assert figures["conv1 MACs, computed"] == 7 * 7 * 3 * 64 * 112 * 112


def test_depth_holds(claims):
    claim = claims["depth_22_27"]
    assert claim.claimed == (22, 27) and claim.measured == (22, 27) and claim.verdict == HOLDS


def test_building_blocks_by_hand(claims):
    # training: 59 conv units, 5 linear, 13 max pools, 3 average pools, 2 LRN, 9 concatenations,
    # 3 dropouts, 1 softmax; inference drops the two aux heads (2 conv, 4 linear, 2 pools, 2 dropouts)
    assert building_blocks(profile_spec(load_spec("googlenet"), train=True)) == 59 + 5 + 13 + 3 + 2 + 9 + 3 + 1
    assert building_blocks(profile_spec(load_spec("googlenet"))) == 57 + 1 + 13 + 1 + 2 + 9 + 1 + 1
    claim = claims["building_blocks_100"]
    assert claim.measured == (95,) and claim.verdict == HOLDS_WITHIN and claim.deviation == pytest.approx(-0.05)


@pytest.mark.parametrize("claimed, measured, expected", [
    ((12,), (12,), HOLDS),
    ((100,), (110,), HOLDS_WITHIN),
    ((100,), (90,), HOLDS_WITHIN),
    ((100,), (111,), DOES_NOT_HOLD),
    ((22, 27), (22, 30), DOES_NOT_HOLD),
    ((22, 27), (22, 28), HOLDS_WITHIN),
])
def test_verdict_rule(claimed, measured, expected):
    assert verdict(claimed, measured)[0] == expected

"""Fitting to a budget: the largest width (or input) that fits, and a spec that check then passes."""

import pytest

import archlens

from archlens.analysis.budget import check
from archlens.analysis.fit import fit, round_channels, width_variant
from archlens.counting.analytic import profile_spec
from archlens.errors import BudgetExceeded, ShapeError
from archlens.spec import load_spec, spec_from_data
from archlens.spec import to_file_data


def test_round_channels():
    assert round_channels(64, 750, 8) == 48
    assert round_channels(20, 1000, 8) == 24  # 20 is halfway between 16 and 24: halves go up
    assert round_channels(19, 1000, 8) == 16
    assert round_channels(3, 1000, 8) == 3  # narrower than the divisor: keeps its own scale (was rounded up to 8,
    # which made the "smallest" variant larger than the spec itself)
    assert round_channels(9, 100, 8) == 8  # at least the divisor once it was that wide
    assert round_channels(192, 968, 8) == 184  # 185.9 -> 184


def test_width_one_is_the_network_itself():
    spec = load_spec("googlenet")  # every channel count of GoogLeNet is a multiple of 8
    assert profile_spec(width_variant(spec, 1000)).totals.params == 6_998_552


def test_half_width_keeps_the_classes():
    half = width_variant(load_spec("googlenet"), 500)
    assert half.layers[0].out == 32
    assert half.layers[-2].out == 1000  # fc: the classes
    last = profile_spec(half).layers[-2]
    assert last.input_shape == (1, 512) and last.params == 512 * 1000 + 1000  # 5b: (384+384+128+128) / 2


def test_width_fit_is_the_largest_and_passes_check():
    result = fit("googlenet", max_macs="1.5G")
    assert result.value == 0.968 and result.report.ok
    assert result.report.checks[0].measured <= 1_500_000_000
    one_more = profile_spec(width_variant(load_spec("googlenet"), 969))
    assert one_more.totals.macs > 1_500_000_000
    # the written spec carries its budget: check passes with no options, and its budget is the limit given
    reloaded = spec_from_data(to_file_data(result.spec))
    assert reloaded.budget.max_macs == 1_500_000_000
    assert check(reloaded).ok


def test_fit_with_two_limits_and_blocks():
    result = fit("googlenet", max_macs="1.5G", max_params="5M", blocks=[{"match": "inception_*", "max_macs": "150M"}])
    assert result.report.ok and len(result.report.checks) == 2 + 9
    wider = width_variant(load_spec("googlenet"), int(round(result.value * 1000)) + 1)
    assert not check(wider, max_macs="1.5G", max_params="5M",
                     blocks=[{"match": "inception_*", "max_macs": "150M"}]).ok


def test_resolution_fit():
    result = fit("googlenet-torchvision", max_macs="1G", vary="resolution")
    assert result.value % 8 == 0 and result.spec.input.height == result.value == result.spec.input.width
    assert result.report.ok
    bigger = load_spec("googlenet-torchvision").model_copy(update={"input": result.spec.input.model_copy(
        update={"height": result.value + 8, "width": result.value + 8})})
    assert profile_spec(bigger).totals.macs > 1_000_000_000


def test_nothing_fits():
    with pytest.raises(BudgetExceeded) as raised:
        fit("googlenet", max_depth=10)
    assert raised.value.exit_code == 1
    # googlenet's 7x7 average pool needs a 7x7 input, so 224 is the smallest input it takes
    with pytest.raises(BudgetExceeded, match="input height 224"):
        fit("googlenet", max_macs="1.5G", vary="resolution")


def test_fit_keeps_grouped_convolutions_valid():
    result = fit("alexnet", max_macs="500M")
    assert result.report.ok
    conv2 = result.spec.layers[3]
    assert conv2.groups == 2 and conv2.out % 16 == 0


def test_fit_reads_the_budget_from_the_spec():
    data = to_file_data(load_spec("googlenet"))
    data["budget"] = {"max_macs": "1.5G"}
    result = fit(spec_from_data(data))
    assert result.value == fit("googlenet", max_macs="1.5G").value == 0.968
    assert result.spec.budget.max_macs == 1_500_000_000


def test_depthwise_convolutions_keep_one_group_a_channel(tmp_path):
    from archlens.analysis.fit import width_variant
    from archlens.spec import load_spec

    path = tmp_path / "dw.yaml"
    path.write_text("name: dw\ninput: {channels: 3, height: 64, width: 64}\nlayers:\n"
                    "  - conv: {name: stem, out: 32, kernel: 3, stride: 2, padding: 1}\n"
                    "  - conv: {name: dw, out: 32, kernel: 3, padding: 1, groups: 32}\n"
                    "  - conv: {name: pw, out: 64, kernel: 1}\n")
    variant = width_variant(load_spec(path), 1250)
    assert (variant.layers[1].out, variant.layers[1].groups) == (40, 40)  # 32 x 1.25
    result = archlens.fit(path, max_macs="5M")
    assert result.report.ok and archlens.check(result.spec).ok


def test_layers_narrower_than_the_divisor_are_not_rounded_up():
    from archlens.analysis.fit import round_channels

    assert round_channels(4, 1000, 8) == 4 and round_channels(4, 500, 8) == 2 and round_channels(1, 100, 8) == 1
    assert round_channels(64, 750, 8) == 48


def test_width_fit_skips_widths_too_narrow_for_the_layers():
    # ResNeXt's width is planes * 4 // 64 * 32 channels: 0 once planes is narrowed to 8, so the
    # narrowest variants do not exist; fit searches above them
    result = archlens.fit("resnext50-32x4d", max_params="10M")
    assert result.report.ok and 0.3 < result.value < 0.7
    assert profile_spec(result.spec).totals.params <= 10_000_000


def test_width_fit_says_when_the_widths_cannot_fit_together():
    # 3 groups on a 2-channel-wide layer: not a width the divisor 2 can reach
    spec = {"name": "grouped", "input": {"channels": 3, "height": 8, "width": 8}, "layers": [
        {"conv": {"name": "a", "out": 3, "kernel": 1}},
        {"conv": {"name": "b", "out": 6, "kernel": 1, "groups": 3}}]}
    with pytest.raises(ShapeError) as caught:
        archlens.fit(spec, max_macs=10, divisor=2)
    message = str(caught.value)
    assert message.startswith("b: at width x1: groups=3 must divide both input channels (4)")
    assert "choose a divisor that is a multiple of the layer's groups" in message

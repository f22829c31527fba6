"""Budgets: limits from arguments and from the spec, per block, with margins checkable by hand."""

import pytest
import yaml

import archlens
from archlens.analysis.budget import check, parse_block_option
from archlens.errors import ArchlensError, UnitError


def test_within_budget_with_margins():
    report = check("googlenet", max_params="7M", max_macs="1.6G", max_activations="64MB", max_depth=22)
    assert report.ok and bool(report)
    by_quantity = {item.quantity: item for item in report.checks}
    assert by_quantity["params"].margin == 7_000_000 - 6_998_552 == 1_448
    assert by_quantity["macs"].margin == 1_600_000_000 - 1_582_671_872
    # activations: 9,913,264 float32 output elements = 39,653,056 bytes, against 64 MB = 64,000,000 bytes
    assert by_quantity["activations"].measured == 4 * 9_913_264
    assert by_quantity["activations"].limit == 64_000_000
    assert by_quantity["depth"].measured == 22 and by_quantity["depth"].margin == 0


def test_over_budget_on_either_side_of_the_limit():
    assert check("googlenet", max_macs=1_582_671_872).ok  # exactly at the limit is within
    report = check("googlenet", max_macs=1_582_671_871)
    assert not report.ok and report.checks[0].margin == -1
    assert check("googlenet", max_flops="3.2G").ok and not check("googlenet", max_flops="3.1G").ok
    assert not check("googlenet", max_depth=21).ok


def test_binary_and_decimal_units():
    assert check("googlenet", max_activations="64MiB").checks[0].limit == 64 * 2**20
    with pytest.raises(UnitError, match="unknown unit 'X'"):
        check("googlenet", max_macs="1.5X")


def test_str_explains_a_failure_for_pytest():
    report = archlens.check("googlenet", max_macs="1.5G")
    text = str(report)
    assert "OVER BUDGET" in text and "1,582,671,872" in text and "-82,671,872" in text
    assert repr(report) == "googlenet: OVER BUDGET: network MACs 1,582,671,872 > 1,500,000,000 (-5.5 %)"
    with pytest.raises(AssertionError, match="OVER BUDGET: network MACs 1,582,671,872 > 1,500,000,000"):
        assert report.ok, report


def test_every_inception_module_under_200m_macs():
    report = check("googlenet", blocks=[{"match": "inception_*", "max_macs": "200M"}])
    assert len(report.checks) == 9
    assert [item.block for item in report.failures] == ["inception_3b"]
    # 3b: (256*128 + 256*128 + 128*9*192 + 256*32 + 32*25*96 + 256*64) weights x 28 x 28
    weights = 256 * 128 + 256 * 128 + 128 * 9 * 192 + 256 * 32 + 32 * 25 * 96 + 256 * 64
    assert report.failures[0].measured == weights * 28 * 28 == 304_267_264


def test_pattern_levels():
    report = check("googlenet", blocks=[{"match": "inception_3a.branch_*", "max_params": "1M"}])
    assert [item.block for item in report.checks] == [
        "inception_3a.branch_1x1", "inception_3a.branch_3x3", "inception_3a.branch_5x5", "inception_3a.branch_pool"]
    assert report.checks[1].measured == 192 * 96 + 96 + 96 * 9 * 128 + 128


def test_pattern_matching_nothing_is_an_error():
    with pytest.raises(ArchlensError, match="matches no block"):
        check("googlenet", blocks=[{"match": "incepton_*", "max_macs": "1G"}])


def test_no_budget_is_an_error():
    with pytest.raises(ArchlensError, match="no budget"):
        check("googlenet")


def _spec_with_budget(tmp_path, budget):
    data = yaml.safe_load(open(archlens.load_spec.__globals__["builtin_path"]("googlenet")))
    data["budget"] = budget
    path = tmp_path / "budgeted.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_budget_from_the_spec_and_override(tmp_path):
    path = _spec_with_budget(tmp_path, {"max_macs": "1.5G", "blocks": [{"match": "inception_4*", "max_macs": "200M"}]})
    report = check(path)
    assert not report.ok and [item.source for item in report.checks] == ["spec"] * 6
    overridden = check(path, max_macs="1.6G")  # an argument replaces the spec's limit on the same quantity
    assert overridden.ok
    assert [(item.source, item.quantity) for item in overridden.checks][0] == ("argument", "macs")  # in its place


def test_a_limit_overridden_on_the_command_line_keeps_its_place(tmp_path, capsys):
    """It used to move to the bottom of the table."""
    from archlens.cli import main

    path = _spec_with_budget(tmp_path, {"max_params": "7M", "max_macs": "1.5G", "max_activations": "64MiB"})
    assert main(["check", str(path), "--max-macs", "1.6G", "--max-depth", "22"]) == 0
    rows = [line.split()[:2] for line in capsys.readouterr().out.splitlines() if line.startswith(" network")]
    assert rows == [["network", "params"], ["network", "MACs"], ["network", "activations"], ["network", "depth"]]
    report = check(path, max_macs="1.6G")
    assert [(item.quantity, item.limit, item.source) for item in report.checks] == [
        ("params", 7_000_000, "spec"), ("macs", 1_600_000_000, "argument"), ("activations", 64 * 2**20, "spec")]


def test_parse_block_option():
    assert parse_block_option("inception_*:macs=200M,params=1M") == {
        "match": "inception_*", "max_macs": "200M", "max_params": "1M"}
    with pytest.raises(ArchlensError, match="--block"):
        parse_block_option("inception_*")
    with pytest.raises(ArchlensError, match="cannot read"):
        parse_block_option("inception_*:depth=3")


def test_a_byte_unit_on_a_count_is_refused_in_one_line(capsys):
    """--max-macs 64MiB was accepted as 67,108,864 MACs; only --max-activations takes bytes."""
    from archlens.cli import main

    assert main(["check", "googlenet", "--max-macs", "64MiB"]) == 2
    err = capsys.readouterr().err
    assert err == ("archlens: error: max_macs '64MiB' is in bytes, but MACs are a count; "
                   "write 64M (64,000,000) or 67108864\n")
    assert main(["check", "googlenet", "--block", "inception_*:params=1MB"]) == 2
    assert "parameters are a count" in capsys.readouterr().err
    assert check("googlenet", max_activations="64MiB").checks[0].limit == 64 * 2**20  # bytes: fine
    spec = {"name": "tiny", "budget": {"max_flops": "1GiB"},
            "layers": [{"conv": {"out": 4, "kernel": 3}}, {"flatten": {}}, {"linear": {"out": 2}}]}
    with pytest.raises(ArchlensError) as caught:  # refused when the spec is read
        check(spec)
    assert str(caught.value) == ("<spec>: budget.max_flops: '1GiB' is in bytes, but FLOPs are a count; "
                                 "write 1G (1,000,000,000) or 1073741824")


def test_validate_refuses_a_byte_unit_on_a_count_in_a_spec_budget(tmp_path, capsys):
    """validate read the spec's budget with any unit; check refused it later. Now the spec is refused
    when read, naming the field, and bytes stay fine where bytes belong."""
    from archlens.cli import main

    spec = tmp_path / "b.yaml"
    spec.write_text("name: b\ninput: {channels: 3, height: 32, width: 32}\n"
                    "budget: {max_activations: 1MiB, blocks: [{match: 'c*', max_flops: 1KiB}]}\n"
                    "layers:\n  - conv: {out: 8, kernel: 3}\n")
    assert main(["validate", str(spec)]) == 2
    assert capsys.readouterr().err == (f"archlens: error: {spec}:3: budget.blocks[0].max_flops: '1KiB' is in bytes, "
                                       "but FLOPs are a count; write 1K (1,000) or 1024\n")
    spec.write_text(spec.read_text().replace("1KiB", "1K"))
    assert main(["validate", str(spec)]) == 0

import pytest

from archlens.errors import UnitError
from archlens.units import flops, format_bytes, format_count, parse_quantity


@pytest.mark.parametrize("text, value", [
    ("7M", 7_000_000), ("1.5G", 1_500_000_000), ("2K", 2_000), ("64MiB", 64 * 2**20), ("64MB", 64_000_000),
    ("1GiB", 2**30), ("15", 15), ("2.5k", 2_500), ("1e9", 10**9), ("3T", 3 * 10**12), (42, 42),
])
def test_parse_quantity(text, value):
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["1.5", "7X", "", "M", "-3M", "1.2.3G", "0.5KiB0"])
def test_parse_quantity_rejects(text):
    with pytest.raises(UnitError):
        parse_quantity(text)


def test_formatting_and_flops():
    assert flops(1_498_376_192) == 2_996_752_384
    assert format_count(1_498_376_192) == "1.50 G"
    assert format_bytes(64 * 2**20) == "64.00 MiB"
    assert parse_quantity("1000000000000000000") == 10**18  # exact, no float drift

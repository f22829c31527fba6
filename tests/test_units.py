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


@pytest.mark.parametrize("text", ["64MiB", "64MB", "64Mi", "512B", "1GiB", "2KB"])
def test_a_count_refuses_a_byte_unit(text):
    with pytest.raises(UnitError, match="is (in bytes|a binary \\(byte\\) size), but MACs are a count"):
        parse_quantity(text, what="max_macs", kind="count")
    assert parse_quantity(text, kind="bytes") == parse_quantity(text)  # bytes take every unit


def test_the_byte_unit_error_says_what_to_write():
    with pytest.raises(UnitError) as caught:
        parse_quantity("64MiB", what="max_macs", kind="count")
    assert str(caught.value) == "max_macs '64MiB' is in bytes, but MACs are a count; write 64M (64,000,000) or 67108864"
    assert parse_quantity("1.5G", kind="count") == 1_500_000_000


def test_docstring_examples():
    import doctest

    import archlens.units

    result = doctest.testmod(archlens.units, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0

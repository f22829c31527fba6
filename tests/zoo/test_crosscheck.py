"""Every built-in network that names its implementation matches it layer by layer (second
environment only: ``pytest -m zoo``; see tests/zoo/crosscheck.py)."""

import pytest

from archlens.spec import builtin_names, load_spec

from .crosscheck import compare

pytestmark = pytest.mark.zoo

CROSS_CHECKED = [name for name in builtin_names()
                 if (load_spec(name).metadata and load_spec(name).metadata.reference
                     and load_spec(name).metadata.reference.implementation)]


@pytest.mark.parametrize("name", CROSS_CHECKED)
def test_spec_matches_its_implementation_layer_by_layer(name):
    result = compare(name)
    assert result.first_difference() is None, result.first_difference()
    assert result.implementation_totals == (load_spec(name).metadata.reference.params,
                                            load_spec(name).metadata.reference.macs)

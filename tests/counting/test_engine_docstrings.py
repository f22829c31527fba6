"""The examples in the engines' and formulas' docstrings run and print what they say."""

import doctest
import importlib

import pytest

MODULES = ["archlens.counting.formulas", "archlens.counting.torch_engine", "archlens.counting.torch.engine",
           "archlens.counting.torch.ops", "archlens.counting.fvcore_engine",
           "archlens.targets", "archlens.counting.training", "archlens.counting.records"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0

"""The examples in the analysis modules', the profiler's and the report's docstrings run and print what they say."""

import doctest
import importlib

import pytest

MODULES = ["archlens.analysis.budget", "archlens.analysis.claims", "archlens.analysis.compare",
           "archlens.analysis.diff",
           "archlens.analysis.fit", "archlens.analysis.inception", "archlens.analysis.table1", "archlens.profiler",
           "archlens.report"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0

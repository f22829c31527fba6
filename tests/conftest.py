import os
import shutil

import pytest
from hypothesis import HealthCheck, settings

from archlens.spec import builtin_names

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# Property-based tests (tests/hardening) run the same examples on every machine: a fixed seed
# (derandomize), no example database, no timing deadline. To explore further, run with
# HYPOTHESIS_PROFILE=random (a new seed each run) and ARCHLENS_EXAMPLES=20 (20 times the examples).
settings.register_profile("archlens", derandomize=True, database=None, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("random", parent=settings.get_profile("archlens"), derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "archlens"))


def require_tool(name: str) -> str:
    """The path of an external program; skip the test locally if it is missing, fail in CI."""
    path = shutil.which(name)
    if path is None:
        if IN_CI:
            pytest.fail(f"{name} is required in CI (.ci/run installs it)")
        pytest.skip(f"{name} is not installed")
    return path


@pytest.fixture(params=builtin_names())
def builtin(request) -> str:
    """Each built-in network's name: a new spec file is tested by adding it."""
    return request.param


def pytest_addoption(parser):
    parser.addoption("--regen-golden", action="store_true", default=False,
                     help="rewrite tests/golden/ from the current outputs instead of comparing with them")


@pytest.fixture
def regen_golden(request) -> bool:
    """True under ``pytest --regen-golden``: golden tests write their files instead of comparing."""
    return request.config.getoption("--regen-golden")

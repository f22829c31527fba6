import os
import shutil

import pytest

from archlens.spec import builtin_names

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


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

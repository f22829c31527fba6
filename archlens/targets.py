"""Module targets: ``package.module:callable`` names a model in your own code, as uvicorn and gunicorn do.

The current directory is put on the import path, so ``archlens profile mymodels:tiny --input-shape
1,3,64,64`` works from the directory holding ``mymodels.py``. The attribute may be a function or
class returning an ``nn.Module`` (called under ``torch.device("meta")``, so a model of any size costs
no weight memory) or an ``nn.Module`` instance.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import sys
from typing import Any

from archlens.errors import TargetError, did_you_mean

TARGET_PATTERN = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
NEEDS_SHAPE = "module targets need --input-shape N,C,H,W"


def is_module_target(text: str) -> bool:
    """True for ``pkg.module:attribute`` (and not an existing file, such as a Windows path)."""
    return bool(TARGET_PATTERN.match(text)) and not os.path.exists(text)


def load_target(text: str) -> Any:
    """Import ``pkg.module:attr`` (``attr`` may be dotted) and return the attribute.

    >>> load_target("collections:OrderedDict").__name__
    'OrderedDict'
    """
    if not is_module_target(text):
        raise TargetError(f"{text!r} is not a module target", hint="write it as package.module:callable")
    module_name, attribute = text.split(":", 1)
    try:
        cwd = os.getcwd()
    except FileNotFoundError:
        raise TargetError("the current folder no longer exists", where=text,
                          hint="cd into the folder that holds the module") from None
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    try:
        with contextlib.redirect_stdout(sys.stderr):  # the module's own prints must not mix into our stdout
            module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        missing = error.name or module_name
        if module_name == missing or module_name.startswith(missing + "."):
            raise TargetError(
                f"cannot import module {module_name!r}: no module named {missing!r}",
                where=text, hint=f"run archlens from the directory that contains it (now {cwd})",
            ) from error
        raise TargetError(f"importing {module_name!r} failed: it needs module {missing!r}, which is not installed",
                          where=text) from error
    except (Exception, SystemExit) as error:  # noqa: BLE001 - the user's module ran and raised: say so in one line
        first_line = (str(error).strip().splitlines() or [""])[0]
        raise TargetError(f"importing {module_name!r} raised {type(error).__name__}: {first_line}",
                          where=text) from error
    value: Any = module
    path = module_name
    for part in attribute.split("."):
        if not hasattr(value, part):
            names = [name for name in dir(value) if not name.startswith("_")]
            raise TargetError(f"{path!r} has no attribute {part!r}", where=text, hint=did_you_mean(part, names))
        value = getattr(value, part)
        path = f"{path}.{part}"
    import torch.nn as nn

    if not isinstance(value, nn.Module) and not callable(value):
        raise TargetError(f"{attribute!r} is a {type(value).__name__}, not an nn.Module or a callable returning one",
                          where=text)
    return value

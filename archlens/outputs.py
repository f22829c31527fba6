"""Writing files atomically: a failed or interrupted write leaves any earlier file intact."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from archlens.errors import OutputError


def write_atomic(path: "str | os.PathLike[str]", data: "str | bytes") -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename.

    A missing parent folder is created. Returns the path written.
    """
    target = Path(path)
    if target.is_dir():
        raise OutputError("is a directory", where=str(target), hint="give a file name to write")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create folder {str(target.parent)!r}: {error.strerror}", where=str(target)) from None
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as error:
        raise OutputError(f"cannot write here: {error.strerror}", where=str(target)) from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        if target.exists():
            os.chmod(temporary, target.stat().st_mode & 0o777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, target)
    except BaseException as error:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        if isinstance(error, OSError):
            raise OutputError(f"cannot write: {error.strerror}", where=str(target)) from None
        raise
    return target

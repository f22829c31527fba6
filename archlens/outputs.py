"""Writing files atomically: a failed or interrupted write leaves any earlier file intact."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from archlens.errors import OutputError


def write_atomic(path: "str | os.PathLike[str]", data: "str | bytes") -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename.

    A missing parent folder is created. A symbolic link is followed (the file it points to is
    replaced, the link stays). A path that is not a regular file, such as ``/dev/null``,
    ``/dev/stdout`` or a named pipe, is written in place: renaming over it would replace the device.
    Returns the path written.

    >>> write_atomic("/tmp/archlens-example.txt", "hello\\n").name
    'archlens-example.txt'
    """
    given = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        mode = given.stat().st_mode  # of what a link points to
    except (FileNotFoundError, NotADirectoryError):
        mode = None
    except OSError as error:
        raise OutputError(f"cannot write: {error.strerror}", where=str(given)) from None
    if mode is not None and stat.S_ISDIR(mode):
        raise OutputError("is a directory", where=str(given), hint="give a file name to write")
    if mode is not None and not stat.S_ISREG(mode):  # /dev/stdout is a link to a pipe or terminal
        return _write_in_place(given, given, payload)
    target = Path(os.path.realpath(given)) if given.is_symlink() else given
    folder = target.parent
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise OutputError(f"{str(existing)!r} is a file, not a folder", where=str(given),
                          hint="choose another output path")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create folder {str(folder)!r}: {error.strerror}", where=str(given)) from None
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as error:
        raise OutputError(f"cannot write here: {error.strerror}", where=str(given)) from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        if mode is not None:
            os.chmod(temporary, stat.S_IMODE(mode))
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
            raise OutputError(f"cannot write: {error.strerror}", where=str(given)) from None
        raise
    return given


def _write_in_place(given: Path, target: Path, payload: bytes) -> Path:
    try:
        with open(target, "wb") as stream:
            stream.write(payload)
    except OSError as error:
        raise OutputError(f"cannot write: {error.strerror}", where=str(given)) from None
    return given

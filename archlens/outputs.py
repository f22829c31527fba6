"""Writing files atomically: a failed or interrupted write leaves any earlier file intact.

What a path may be, decided once here (README: "Exit codes and errors"):

* a new file: written, with any missing folder of the path as given created;
* an existing regular file: replaced through a temporary file in the same folder and a rename, keeping
  its permissions; a **read-only** one (no write permission for anyone, like ``chmod a-w``, or none
  for this user) is refused, never replaced: making it writable or removing it is the user's call;
* a **symbolic link** to a file: followed, the file it points to is replaced and the link stays; a
  **dangling** link (to nothing) is refused: archlens creates neither the file it names nor its
  folders, which are a place the user never named (and how symlink attacks in shared folders work);
* a path **ending in** ``/`` (or ``/.``, ``/..``) names a folder: refused, never written as a file;
* a directory: refused; a device or a pipe (``/dev/null``, ``/dev/stdout``): written in place.

The temporary file (``.NAME.RANDOM.tmp``) is removed whatever stops the write: an error, Ctrl-C, or a
stop signal the CLI turns into an exception (SIGTERM, SIGHUP, SIGQUIT). Only SIGKILL (or a power
cut) can leave it behind; the target is intact even then.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from archlens.errors import OutputError

_checks: list[Callable[[], None]] = []


@contextlib.contextmanager
def checked_before_writing(check: Callable[[], None]) -> Iterator[None]:
    """While the block runs, ``check()`` is called before any file is written or replaced; what it raises
    stops the write (the CLI's: a stop signal that the module's code swallowed, so no output lands
    after archlens was told to stop)."""
    _checks.append(check)
    try:
        yield
    finally:
        _checks.remove(check)


def _check() -> None:
    for check in list(_checks):
        check()


def write_atomic(path: "str | os.PathLike[str]", data: "str | bytes") -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename.

    A missing parent folder is created. A symbolic link is followed (the file it points to is
    replaced, the link stays); a dangling one is refused. A path that is not a regular file, such as
    ``/dev/null``, ``/dev/stdout`` or a named pipe, is written in place: renaming over it would replace
    the device. A read-only file and a path ending in ``/`` are refused. Returns the path written.

    >>> write_atomic("/tmp/archlens-example.txt", "hello\\n").name
    'archlens-example.txt'
    """
    _check()
    text = os.fspath(path)
    given = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    refuse_a_folder_name(text)
    try:
        mode = given.stat().st_mode  # of what a link points to
    except (FileNotFoundError, NotADirectoryError):
        mode = None
    except OSError as error:
        raise OutputError(f"cannot write: {error.strerror}", where=text) from None
    if mode is not None and stat.S_ISDIR(mode):
        raise OutputError("is a directory", where=text, hint="give a file name to write")
    if mode is not None and not stat.S_ISREG(mode):  # /dev/stdout is a link to a pipe or terminal
        return _write_in_place(given, given, payload)
    _refuse_dangling_links(given)
    target = Path(os.path.realpath(given)) if given.is_symlink() else given
    if mode is not None:
        _refuse_read_only(target, mode, text)
    folder = target.parent
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise OutputError(f"{str(existing)!r} is a file, not a folder", where=text, hint="choose another output path")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create folder {str(folder)!r}: {error.strerror}", where=text) from None
    temporary = None  # named before it is created, so an interrupt at any instant finds it to remove
    try:
        for _ in range(100):
            temporary = os.path.join(folder, f".{target.name[:200]}.{os.urandom(6).hex()}.tmp")
            try:
                handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
            except FileExistsError:  # another writer's: leave it
                temporary = None
                continue
            except OSError as error:
                raise OutputError(f"cannot write here: {error.strerror}", where=text) from None
            break
        else:
            raise OutputError("cannot create a temporary file beside it", where=text)
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
        _check()
        os.replace(temporary, target)
    except BaseException as error:
        if temporary is not None:
            _discard(temporary)
        if isinstance(error, OSError):
            raise OutputError(f"cannot write: {error.strerror}", where=text) from None
        raise
    return given


def refuse_a_folder_name(text: str) -> None:
    """``out/`` (and ``out/.``, ``out/..``) names a folder: pathlib would quietly make it ``out``, so the
    CLI checks ``-o``'s text with this before it becomes a path."""
    separators = tuple(filter(None, (os.sep, os.altsep)))
    last = text
    for separator in separators:
        last = last.rsplit(separator, 1)[-1]
    if text and (text.endswith(separators) or last in (".", "..")):
        raise OutputError("names a folder, not a file", where=text,
                          hint=f"add a file name, like {os.path.normpath(os.path.join(text, 'NAME'))}")


def _refuse_dangling_links(given: Path) -> None:
    """A symbolic link to nothing, as the file or as one of its folders, is refused: following it
    would create a file, or folders, in a place the user never named."""
    for path in (given, *given.parents):
        if path.is_symlink() and not path.exists():
            try:
                points_to = os.readlink(path)
            except OSError:
                points_to = "?"
            raise OutputError(f"{str(path)!r} is a symbolic link to {points_to!r}, which does not exist",
                              where=str(given), hint="remove the link, or write to the path it names")


def _refuse_read_only(target: Path, mode: int, text: str) -> None:
    """An existing file nobody may write (``chmod a-w``), or this user may not, is not replaced: the
    rename would succeed (it needs only the folder's permission) and quietly undo the protection."""
    effective = {"effective_ids": True} if os.access in os.supports_effective_ids else {}
    if mode & 0o222 and os.access(target, os.W_OK, **effective):
        return
    raise OutputError(f"is read-only (mode {stat.S_IMODE(mode):04o}), so it is not replaced", where=text,
                      hint="make it writable (chmod u+w) or remove it, then rerun")


def _discard(temporary: str) -> None:
    """Remove a temporary file, even when an interrupt arrives while doing so."""
    interrupted: BaseException | None = None
    for _ in range(3):
        try:
            os.unlink(temporary)
            break
        except OSError:
            break
        except BaseException as error:  # noqa: BLE001 - a second interrupt: remove the file, then stop
            interrupted = error
    if interrupted is not None:
        raise interrupted


def _write_in_place(given: Path, target: Path, payload: bytes) -> Path:
    try:
        with open(target, "wb") as stream:
            stream.write(payload)
    except OSError as error:
        raise OutputError(f"cannot write: {error.strerror}", where=str(given)) from None
    return given

"""Writing a Markdown report as one: its ``.md`` and the images in the folder beside it.

A file alone is written atomically by :func:`archlens.outputs.write_atomic` (a temporary file, then a
rename). A report is several files, and what "atomic" means for it is this:

1. **Staged.** Everything is rendered in memory; then every new or changed image is written to a
   temporary file in the images folder (``.NAME.RANDOM.tmp``) and flushed to disk. A failure here (a
   full disk, a folder that cannot be written, an image name taken by a folder, an interrupt) removes
   the temporary files: nothing of the old report was touched.
2. **Moved in, the .md last.** The images are renamed into place one by one (a reader sees the old or
   the new file, never part of one), each one they replace kept as a hard link beside it
   (``.NAME.RANDOM.old``); then the ``.md`` is written by :func:`~archlens.outputs.write_atomic`, and
   its rename is the moment the report changes. Anything that fails or stops the write before that
   moment (an error, Ctrl-C, a stop signal the CLI turns into an exception) puts the old images back
   and removes the new ones: the old report is intact, byte for byte.
3. **Then tidied.** Images the new report no longer shows are removed, but only files archlens wrote:
   those named in the folder's ``.archlens.sha256`` (what archlens wrote there, in ``sha256sum``'s
   format) and still holding the bytes it wrote. Any other file in the folder, or one the user
   changed, stays.

How far it goes: between the first image's rename and the ``.md``'s (a few renames), a reader, or
a crash that no handler sees (SIGKILL, a power cut), can find the old ``.md`` with some new images
under the names it shows; never a missing one, since the new report's images are all in place before
its ``.md`` and the old ones are removed only after it. Such a crash leaves at most temporary files
and images no report shows, which the next run removes (the list of what archlens wrote is updated
before the ``.md``). Images identical to the ones in place are not rewritten.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import stat
from pathlib import Path
from typing import Mapping

from archlens.errors import OutputError

MANIFEST = ".archlens.sha256"
"""The file in a report's images folder naming the files archlens wrote there, with their SHA-256."""

_FILE_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"  # what archlens names an image: no folder, never hidden
_MANIFEST_LINE = re.compile(rf"([0-9a-f]{{64}})  ({_FILE_NAME})")
_MANIFEST_LIMIT = 1 << 20  # a longer one is not archlens's


def write_markdown_report(path: "str | os.PathLike[str]", files: Mapping[str, "str | bytes"]) -> Path:
    """Write a Markdown report's files (:func:`~archlens.render.markdown_report.render_markdown_report`:
    the ``.md`` first, then ``FOLDER/IMAGE.svg``, ...) beside ``path`` as one: see the module's text
    for what that means. Raises :class:`~archlens.errors.OutputError` with the old report intact."""
    from archlens.outputs import write_atomic
    from archlens.render.formats import encodable
    from archlens.render.markdown_report import image_folder

    path = Path(path)
    (_name, markdown), *images = files.items()
    folder = path.parent / image_folder(path.name)
    new: dict[str, bytes] = {}
    for key, data in images:
        parent, _, file = key.partition("/")
        if parent != folder.name or not re.fullmatch(_FILE_NAME, file):
            raise ValueError(f"{key!r} is not an image of the report {path.name!r} (expected {folder.name}/NAME)")
        new[file] = encodable(data).encode("utf-8") if isinstance(data, str) else data
    old = _read_manifest(folder)
    digests = {file: _digest(data) for file, data in new.items()}
    staging = _Staging(folder)
    try:
        if new or old:
            staging.prepare()
            for file, data in new.items():
                staging.add(file, data)
            # every file archlens may have left here, should the run stop before it tidies up
            staging.add(MANIFEST, _manifest({**old, **digests}))
        staging.move_in()
        write_atomic(path, encodable(markdown) if isinstance(markdown, str) else markdown)
    except BaseException:
        staging.roll_back()
        raise
    staging.drop_backups()
    _tidy(folder, old, digests)
    return path


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _manifest(digests: Mapping[str, str]) -> bytes:
    return "".join(f"{digest}  {file}\n" for file, digest in sorted(digests.items())).encode()


def _read_manifest(folder: Path) -> dict[str, str]:
    """What archlens wrote in ``folder`` before: ``{file: sha256}`` (nothing if there is no list, or it
    is not a plain file archlens could have written; lines it would not write are ignored)."""
    manifest = folder / MANIFEST
    try:
        if not stat.S_ISREG(manifest.lstat().st_mode) or manifest.lstat().st_size > _MANIFEST_LIMIT:
            return {}
        text = manifest.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    found = {}
    for line in text.splitlines():
        match = _MANIFEST_LINE.fullmatch(line)
        if match:
            found[match.group(2)] = match.group(1)
    return found


def _tidy(folder: Path, old: Mapping[str, str], new: Mapping[str, str]) -> None:
    """After the new report is in place: remove what archlens wrote for an earlier one and no longer
    shows (only while it holds the bytes archlens wrote), then list what it wrote now. Best effort:
    the report is written; what cannot be removed now is removed by the next run."""
    for file, digest in sorted(old.items()):
        if file in new:
            continue
        target = folder / file
        try:
            if stat.S_ISREG(target.lstat().st_mode) and _digest(target.read_bytes()) == digest:
                target.unlink()
        except OSError:
            pass
    manifest = folder / MANIFEST
    try:
        if new:
            staging = _Staging(folder)
            staging.add(MANIFEST, _manifest(new))
            staging.move_in()
            staging.drop_backups()
        elif manifest.is_file():
            manifest.unlink()
            folder.rmdir()  # only when nothing else is left in it
    except (OSError, OutputError):
        pass


class _Staging:
    """Files written beside their targets in one folder, moved in together, or not at all."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.created_folder = False
        self.temporary: dict[str, str] = {}  # file -> its temporary file
        self.backups: dict[str, str] = {}    # file -> the replaced file, kept as a hard link
        self.placed: list[str] = []          # files renamed into place, in order

    def prepare(self) -> None:
        """Make the folder (and its missing parents); a file in its place is an error."""
        folder = self.folder
        existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
        if existing is not None and not existing.is_dir():
            raise OutputError(f"{str(existing)!r} is a file, not a folder", where=str(folder),
                              hint="choose another output path")
        if folder.is_symlink() and not folder.exists():
            raise OutputError(f"{str(folder)!r} is a symbolic link to a folder that does not exist", where=str(folder),
                              hint="remove the link, or create the folder it names")
        self.created_folder = not folder.exists()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OutputError(f"cannot create folder {str(folder)!r}: {error.strerror}", where=str(folder)) from None

    def add(self, file: str, data: bytes) -> None:
        """Write ``data`` to a temporary file beside ``file`` (nothing, when ``file`` holds it already)."""
        target = self.folder / file
        try:
            mode = target.lstat().st_mode
        except FileNotFoundError:
            mode = None
        except OSError as error:
            raise OutputError(f"cannot write: {error.strerror}", where=str(target)) from None
        if mode is not None:
            if stat.S_ISDIR(mode):
                raise OutputError("is a directory, where the report puts an image", where=str(target),
                                  hint="move it away, or write the report elsewhere")
            if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
                raise OutputError("is not a regular file, where the report puts an image", where=str(target))
            if stat.S_ISREG(mode) and not (mode & 0o222 and os.access(target, os.W_OK)):
                raise OutputError(f"is read-only (mode {stat.S_IMODE(mode):04o}), so it is not replaced",
                                  where=str(target), hint="make it writable (chmod u+w) or remove it, then rerun")
            if stat.S_ISREG(mode) and _holds(target, data):
                return
        temporary = None
        try:
            temporary, handle = _create_beside(target, "tmp")
            self.temporary[file] = temporary
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            if mode is not None and stat.S_ISREG(mode):
                os.chmod(temporary, stat.S_IMODE(mode))
            else:
                umask = os.umask(0)
                os.umask(umask)
                os.chmod(temporary, 0o666 & ~umask)
        except OSError as error:
            raise OutputError(f"cannot write: {error.strerror}", where=str(target)) from None

    def move_in(self) -> None:
        """Rename every temporary file over its target, keeping what it replaces as a hard link."""
        for file, temporary in list(self.temporary.items()):
            target = self.folder / file
            try:
                if os.path.lexists(target):
                    self.backups[file] = _keep(target)
                os.replace(temporary, target)
            except OSError as error:
                raise OutputError(f"cannot write: {error.strerror}", where=str(target)) from None
            del self.temporary[file]
            self.placed.append(file)

    def roll_back(self) -> None:
        """Put back what was replaced, remove what was added and every temporary file."""
        for file in reversed(self.placed):
            target = self.folder / file
            try:
                if file in self.backups:
                    os.replace(self.backups.pop(file), target)
                else:
                    os.unlink(target)
            except OSError:
                pass
        self.placed.clear()
        for leftover in [*self.temporary.values(), *self.backups.values()]:
            try:
                os.unlink(leftover)
            except OSError:
                pass
        self.temporary.clear()
        self.backups.clear()
        if self.created_folder:
            try:
                self.folder.rmdir()
            except OSError:
                pass

    def drop_backups(self) -> None:
        for backup in self.backups.values():
            try:
                os.unlink(backup)
            except OSError:
                pass
        self.backups.clear()


def _holds(target: Path, data: bytes) -> bool:
    try:
        return target.stat().st_size == len(data) and target.read_bytes() == data
    except OSError:
        return False


def _create_beside(target: Path, kind: str) -> tuple[str, int]:
    """A new file ``.NAME.RANDOM.KIND`` beside ``target``, created exclusively: its path and descriptor."""
    for _ in range(100):
        path = os.path.join(target.parent, f".{target.name[:200]}.{os.urandom(6).hex()}.{kind}")
        try:
            return path, os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
        except FileExistsError:
            continue
    raise OSError(errno.EEXIST, "cannot create a temporary file beside it")


def _keep(target: Path) -> str:
    """A second name for ``target`` (a hard link; a copy where links are not supported), to put it back."""
    path, handle = _create_beside(target, "old")
    os.close(handle)
    os.unlink(path)
    try:
        os.link(target, path, follow_symlinks=False)
    except OSError:
        shutil.copy2(target, path, follow_symlinks=False)
    return path

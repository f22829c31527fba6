"""Output files: atomic writes that never destroy an earlier file, devices left as devices."""

import os
import stat
import subprocess
import sys
import tempfile
import threading

import pytest

from archlens.cli import main
from archlens.errors import OutputError
from archlens.outputs import write_atomic


def leftovers(folder):
    return sorted(name for name in os.listdir(folder) if name.endswith(".tmp"))


def test_new_file_and_missing_folders_are_created(tmp_path):
    target = tmp_path / "a" / "b" / "report.csv"
    assert write_atomic(target, "x,y\n") == target
    assert target.read_text() == "x,y\n"
    assert leftovers(target.parent) == []


def test_existing_file_keeps_its_permissions(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    target.chmod(0o640)
    write_atomic(target, "new")
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


@pytest.mark.parametrize("failure", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_failed_write_leaves_the_earlier_file_intact(tmp_path, monkeypatch, failure):
    target = tmp_path / "report.html"
    target.write_text("earlier report")

    def fail(*args, **kwargs):
        raise failure

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OutputError if isinstance(failure, OSError) else KeyboardInterrupt) as caught:
        write_atomic(target, "x" * 100_000)
    if isinstance(failure, OSError):
        assert str(caught.value) == f"{target}: cannot write: No space left on device"
    assert target.read_text() == "earlier report"
    assert leftovers(tmp_path) == []


def test_a_failed_rename_leaves_the_earlier_file_intact(tmp_path, monkeypatch):
    target = tmp_path / "report.json"
    target.write_text("{}")

    def fail(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OutputError, match="cannot write: Permission denied"):
        write_atomic(target, "[1, 2]")
    assert target.read_text() == "{}"
    assert leftovers(tmp_path) == []


def test_an_unwritable_folder_is_one_line(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(OutputError) as caught:
        write_atomic(tmp_path / "x.txt", "data")
    assert str(caught.value) == f"{tmp_path / 'x.txt'}: cannot write here: Permission denied"


def test_a_file_in_the_way_of_the_folder(tmp_path):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("keep me")
    with pytest.raises(OutputError) as caught:
        write_atomic(blocker / "deeper" / "out.csv", "x")
    assert str(caught.value) == (
        f"{blocker / 'deeper' / 'out.csv'}: {str(blocker)!r} is a file, not a folder; choose another output path"
    )
    assert blocker.read_text() == "keep me"


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(OutputError, match="is a directory; give a file name to write"):
        write_atomic(tmp_path, "x")


def test_a_symlink_is_followed_not_replaced(tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    write_atomic(link, "new")
    assert link.is_symlink() and real.read_text() == "new"


def test_a_named_pipe_is_written_in_place_not_replaced(tmp_path):
    # Renaming over /dev/null or a FIFO would replace the device with a plain file (as root, for
    # everyone on the machine); a FIFO shows the same without needing root.
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    write_atomic(fifo, "through the pipe")
    reader.join(timeout=10)
    assert received == [b"through the pipe"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)


@pytest.mark.parametrize("where, expected", [
    ("{tmp}", "archlens: error: {tmp}: is a directory; give a file name to write"),
    ("{tmp}/file.txt/out.csv", "archlens: error: {tmp}/file.txt/out.csv: '{tmp}/file.txt' is a file, not a folder; "
                               "choose another output path"),
])
def test_cli_output_errors_are_one_line_exit_2(tmp_path, capsys, where, expected):
    (tmp_path / "file.txt").write_text("keep")
    code = main(["profile", "googlenet", "-f", "csv", "-o", where.format(tmp=tmp_path)])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.splitlines() == [expected.format(tmp=tmp_path)]
    assert (tmp_path / "file.txt").read_text() == "keep"


def test_cli_output_into_missing_folder_is_created(tmp_path, capsys):
    target = tmp_path / "new" / "folder" / "googlenet.json"
    assert main(["profile", "googlenet", "-f", "json", "-o", str(target)]) == 0
    assert capsys.readouterr().err == f"wrote {target}\n"
    assert target.read_text().startswith('{\n  "name": "googlenet"')


def test_output_to_dev_stdout_is_written_in_place():
    """/dev/stdout is a link to a pipe (/proc/self/fd/1): follow it by opening, never rename over it."""
    code = "from archlens.cli import main; raise SystemExit(main(['profile', 'googlenet', '-o', '/dev/stdout']))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    assert result.stdout.startswith("googlenet · input 1x3x224x224")
    assert result.stderr == "wrote /dev/stdout\n"

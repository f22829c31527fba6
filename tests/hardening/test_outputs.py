"""Output files: atomic writes that never destroy an earlier file, devices left as devices."""

import os
import stat
import subprocess
import sys
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
    real_open = os.open

    def refuse(path, flags, *args, **kwargs):  # root may write anywhere: refuse the temporary file's creation
        if flags & os.O_EXCL:
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
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


# Decided paths (README: "Exit codes and errors"): a dangling link, a folder's name, a read-only file.


def test_a_dangling_symlink_is_refused_and_nothing_is_created(tmp_path, capsys):
    """Following it would create the file it names and that file's folders: a place never named on the
    command line (a link planted in a shared folder would choose where archlens writes)."""
    link = tmp_path / "out.json"
    link.symlink_to(tmp_path / "elsewhere" / "deeper" / "target.json")
    assert main(["profile", "googlenet", "-o", str(link)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"archlens: error: {link}: {str(link)!r} is a symbolic link to '{tmp_path}/elsewhere/deeper/target.json', "
        "which does not exist; remove the link, or write to the path it names"
    ]
    assert sorted(os.listdir(tmp_path)) == ["out.json"] and link.is_symlink()


def test_a_dangling_symlink_as_a_folder_is_refused(tmp_path):
    folder = tmp_path / "reports"
    folder.symlink_to(tmp_path / "gone")
    with pytest.raises(OutputError, match="reports' is a symbolic link to '.*gone', which does not exist"):
        write_atomic(folder / "sub" / "out.csv", "x")
    assert sorted(os.listdir(tmp_path)) == ["reports"]


@pytest.mark.parametrize("given", ["out/", "out//", "out/.", "out/..", "new/deeper/"])
def test_a_path_naming_a_folder_is_refused(tmp_path, monkeypatch, capsys, given):
    """pathlib turns 'out/' into 'out': without the check, a file named 'out' was written."""
    monkeypatch.chdir(tmp_path)
    assert main(["profile", "googlenet", "-f", "csv", "-o", given]) == 2
    hint = os.path.normpath(os.path.join(given, "NAME"))
    assert capsys.readouterr().err.splitlines() == [
        f"archlens: error: {given}: names a folder, not a file; add a file name, like {hint}"]
    assert os.listdir(tmp_path) == []
    with pytest.raises(OutputError, match="names a folder"):
        write_atomic(given, "x")


@pytest.mark.parametrize("command", [["graph", "googlenet", "-o", "g/"], ["report", "googlenet", "-o", "r/"]])
def test_graph_and_report_refuse_a_folder_name_too(tmp_path, monkeypatch, capsys, command):
    monkeypatch.chdir(tmp_path)
    assert main(command) == 2
    assert "names a folder, not a file" in capsys.readouterr().err
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("mode", [0o444, 0o400, 0o555])
def test_a_read_only_file_is_not_replaced(tmp_path, capsys, mode):
    """A rename needs only the folder's permission, so without the check a chmod a-w file (a kept
    report, a golden file) was silently replaced, even by a user who may not write it."""
    target = tmp_path / "kept.json"
    target.write_text("kept")
    target.chmod(mode)
    assert main(["profile", "googlenet", "-o", str(target)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"archlens: error: {target}: is read-only (mode {mode:04o}), so it is not replaced; make it writable "
        "(chmod u+w) or remove it, then rerun"]
    assert target.read_text() == "kept" and stat.S_IMODE(target.stat().st_mode) == mode
    assert leftovers(tmp_path) == []


def test_a_file_this_user_may_not_write_is_not_replaced(tmp_path, monkeypatch):
    """Someone else's file (writable by its owner only): the permission that counts is this user's."""
    target = tmp_path / "theirs.csv"
    target.write_text("theirs")
    monkeypatch.setattr(os, "access", lambda path, how, **kwargs: False)
    with pytest.raises(OutputError, match=r"is read-only \(mode 0644\)"):
        write_atomic(target, "mine")
    assert target.read_text() == "theirs"


def test_a_read_only_file_through_a_link_is_not_replaced(tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("kept")
    real.chmod(0o444)
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    with pytest.raises(OutputError, match="is read-only"):
        write_atomic(link, "new")
    assert real.read_text() == "kept"


def test_an_interrupt_just_after_the_temporary_file_is_created_removes_it(tmp_path, monkeypatch):
    """The temporary file is named before it exists: an interrupt at any instant finds it."""
    real_open = os.open

    def open_then_interrupt(path, flags, *args, **kwargs):
        descriptor = real_open(path, flags, *args, **kwargs)
        if flags & os.O_EXCL:
            os.close(descriptor)
            raise KeyboardInterrupt  # as a signal handler raises it, right after the file exists
        return descriptor

    monkeypatch.setattr(os, "open", open_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(tmp_path / "out.csv", "x")
    assert os.listdir(tmp_path) == []

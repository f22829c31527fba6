"""The CLI's error model: one line on stderr, the right exit code, never a traceback."""

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

import archlens.profiler
from archlens.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("args, expected", [
    (["profil", "googlenet"], "archlens: error: No such command 'profil'. Did you mean 'profile'? (see 'archlens --help')"),
    (["profile"], "archlens: error: Missing argument 'target' (see 'archlens profile --help')"),
    (["profile", "googlenet", "--engin", "torch"],
     "archlens: error: No such option: --engin (Possible options: --engine) (see 'archlens profile --help')"),
    (["profile", "googlenet", "--batch", "0"], "archlens: error: Invalid value for '--batch': Input should be greater "
                                              "than or equal to 1 (see 'archlens profile --help')"),
    (["profile", "googlenet", "--input-shape", "1,3,x,2"],
     "archlens: error: --input-shape '1,3,x,2' is not a list of integers; write it like 1,3,224,224"),
    (["profile", "googlnet"], "archlens: error: unknown network 'googlnet'; did you mean 'googlenet'? "
                              "(`archlens list` shows the built-in networks; a file needs .yaml or .json)"),
    (["check", "googlenet", "--block", "inception_*:macs=abc"],
     "archlens: error: blocks[0]: max_macs: 'abc' is not a quantity; write a number with an optional "
     "suffix: 7M, 1.5G, 64MiB (K/M/G/T decimal, KiB/MiB/GiB binary)"),
    (["check", "googlenet", "--max-macs", "1.5X"], "archlens: error: max_macs '1.5X' has an unknown unit 'X'; "
                                                   "use K, M, G, T (decimal) or KiB, MiB, GiB, TiB (binary)"),
])
def test_usage_and_input_mistakes_are_one_line_exit_2(capsys, args, expected):
    code, out, err = run(capsys, *args)
    assert (code, out) == (2, "")
    assert err.splitlines() == [expected]


def test_bare_command_shows_help(capsys):
    code, out, err = run(capsys)
    assert code == 2 and "Usage: archlens" in out + err and "profile" in out + err


def test_interrupt_is_one_line_exit_130(capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(archlens.profiler, "profile", interrupted)
    assert run(capsys, "profile", "googlenet") == (130, "", "archlens: interrupted\n")


def test_interrupt_while_the_cli_loads(monkeypatch, capsys):
    """Ctrl-C during the slow imports (typer, pydantic) is caught by the tiny entry module."""
    from archlens.__main__ import run as entry

    class InterruptImport:
        def find_spec(self, name, path=None, target=None):
            if name == "archlens.cli":
                raise KeyboardInterrupt
            return None

    monkeypatch.delitem(sys.modules, "archlens.cli")
    monkeypatch.setattr(sys, "meta_path", [InterruptImport(), *sys.meta_path])
    with pytest.raises(SystemExit) as done:
        entry()
    assert done.value.code == 130
    assert capsys.readouterr().err == "archlens: interrupted\n"


def test_internal_error_is_one_line_exit_3(capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("first line\nsecond line")

    monkeypatch.setattr(archlens.profiler, "profile", broken)
    code, out, err = run(capsys, "profile", "googlenet")
    assert code == 3 and out == ""
    assert err.splitlines() == [
        "archlens: internal error: ValueError: first line (rerun with --debug for the traceback, and please report it)"
    ]
    with pytest.raises(ValueError):
        main(["profile", "googlenet", "--debug"])


class FailingStream:
    def __init__(self, code):
        self.code = code

    def write(self, text):
        raise OSError(self.code, os.strerror(self.code))

    def flush(self):
        pass


def test_full_disk_on_stdout_is_one_line_exit_2(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdout", FailingStream(errno.ENOSPC))
    code = main(["profile", "googlenet"])
    assert code == 2
    assert capsys.readouterr().err == "archlens: error: cannot write output: No space left on device\n"


def test_closed_stderr_never_raises(monkeypatch):
    monkeypatch.setattr(sys, "stderr", FailingStream(errno.EPIPE))
    assert main(["profile", "googlnet"]) == 2
    assert main(["profil"]) == 2


@pytest.mark.parametrize("args", [["profile", "googlenet", "--train", "--depth", "0", "-f", "json"], ["list"]])
def test_closed_pipe_ends_quietly_with_0(args):
    """`archlens ... | head`: the reader is gone before archlens writes; no traceback, exit 0 (not 1,
    which would mean "over budget")."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    result = subprocess.run([sys.executable, "-m", "archlens", *args], stdout=write_end, stderr=subprocess.PIPE,
                            cwd=ROOT, timeout=120)
    os.close(write_end)
    assert (result.returncode, result.stderr) == (0, b"")


def test_debug_shows_the_traceback_of_an_input_error(capsys):
    code, _, err = run(capsys, "--debug", "profile", "nope/missing.yaml")
    assert code == 2
    assert "Traceback" in err
    assert err.splitlines()[-1] == ("archlens: error: nope/missing.yaml: no such file; check the path, or run "
                                    "`archlens list` for built-in names")


def test_a_terminal_without_utf8_gets_question_marks_not_a_crash():
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    result = subprocess.run([sys.executable, "-m", "archlens", "profile", "googlenet"], capture_output=True,
                            cwd=ROOT, env=env, timeout=120)
    assert (result.returncode, result.stderr) == (0, b"")
    assert result.stdout.startswith(b"googlenet ? input 1x3x224x224 ? float32")


def test_another_system_error_is_one_line_exit_2(capsys, monkeypatch):
    def refused(*args, **kwargs):
        raise OSError(errno.EMFILE, os.strerror(errno.EMFILE))

    monkeypatch.setattr(archlens.profiler, "profile", refused)
    assert main(["profile", "googlenet"]) == 2
    assert capsys.readouterr().err == "archlens: error: system error: Too many open files\n"


def test_a_line_break_in_a_file_name_stays_on_one_line(capsys):
    assert main(["validate", "new\nline.yaml", "odd\u2028name.yaml"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "archlens: error: new\\nline.yaml: no such file; check the path, or run `archlens list` for built-in names",
        "archlens: error: odd\\u2028name.yaml: no such file; check the path, or run `archlens list` for built-in names",
    ]

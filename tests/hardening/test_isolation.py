"""Module targets run isolated: a crash or a silent exit in the user's code is an error, never success.

In-process, ``os._exit(0)`` in the user's code ends archlens with exit 0 and no output: nothing can
catch it (README: "Exit codes and errors"). Isolated (``--isolate``; ``check`` does it by default for
module targets), the command runs in a child process that must report back; a child that ends
without reporting is one line and exit 2 (it exited on its own) or 3 (a signal killed it).

The user's modules here fail at import, before PyTorch is imported, so most children are quick.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import archlens.cli.isolation
from archlens.cli import main

ROOT = Path(__file__).resolve().parents[2]

MODULES = {
    "iso_exits": "import os\nos._exit(0)\n",
    "iso_segfaults": "import ctypes\nctypes.string_at(0)\n",
    "iso_kills_itself": "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n",
    "iso_sleeps": textwrap.dedent("""
        import os, time
        from pathlib import Path
        Path("started").write_text(str(os.getpid()))
        time.sleep(60)
    """),
    "iso_models": textwrap.dedent("""
        import atexit, os
        from torch import nn

        def small():
            return nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())

        def small_then_exit_0():
            atexit.register(os._exit, 0)  # turns any exit status into 0, after the command has finished
            return small()
    """),
}

SHAPE = ["--input-shape", "1,3,8,8"]
SILENT_EXIT = ("archlens: error: the isolated run ended with exit status 0 before it finished: the module's code "
               "ended the process (os._exit() or exit() in native code); nothing was measured")


@pytest.fixture
def user_code(tmp_path):
    for name, code in MODULES.items():
        (tmp_path / f"{name}.py").write_text(code)
    return tmp_path


def archlens_cli(folder: Path, *args: str, timeout: float = 120) -> tuple[int, str, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-m", "archlens", *args], cwd=folder, env=env, capture_output=True,
                            text=True, timeout=timeout)
    return result.returncode, result.stdout, result.stderr


def test_check_fails_closed_on_a_silent_exit(user_code):
    """`check` runs a module target isolated by default: os._exit(0) cannot make CI read success."""
    assert archlens_cli(user_code, "check", "iso_exits:model", *SHAPE, "--max-macs", "1G") == (2, "", SILENT_EXIT + "\n")


def test_in_process_a_silent_exit_cannot_be_caught(user_code):
    """What the README says cannot be caught in-process: os._exit(0) ends archlens with exit 0 and no
    output (--no-isolate, or profile without --isolate)."""
    assert archlens_cli(user_code, "check", "iso_exits:model", *SHAPE, "--max-macs", "1G", "--no-isolate") == (0, "", "")


@pytest.mark.parametrize("command", [["profile", "iso_exits:model", "--isolate"],
                                     ["compare", "iso_exits:model", "iso_exits:model", "--isolate"]])
def test_isolate_turns_a_silent_exit_into_an_error(user_code, command):
    assert archlens_cli(user_code, *command, *SHAPE) == (2, "", SILENT_EXIT + "\n")


@pytest.mark.parametrize("module, killed_by", [("iso_segfaults", "SIGSEGV"), ("iso_kills_itself", "SIGKILL")])
def test_a_crash_in_the_child_is_one_line_exit_3(user_code, module, killed_by):
    code, out, err = archlens_cli(user_code, "profile", f"{module}:model", *SHAPE, "--isolate")
    assert (code, out) == (3, "")
    assert err.splitlines() == [
        f"archlens: error: the isolated run was killed by {killed_by} before it finished: a crash (in native code: the "
        "module's, a C extension's or PyTorch's; SIGKILL is often the out-of-memory killer); nothing was measured"]


def test_a_stop_signal_reaches_the_isolated_child(user_code):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    parent = subprocess.Popen([sys.executable, "-m", "archlens", "check", "iso_sleeps:model", *SHAPE, "--max-macs",
                               "1G"], cwd=user_code, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    started = user_code / "started"
    deadline = time.monotonic() + 60
    try:
        while not (started.exists() and started.read_text()):
            assert parent.poll() is None and time.monotonic() < deadline, "the child never started"
            time.sleep(0.01)
        parent.send_signal(signal.SIGTERM)
        out, err = parent.communicate(timeout=60)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.communicate()
    assert (parent.returncode, out, err) == (143, b"", b"archlens: stopped by SIGTERM\n")
    child = int(started.read_text())
    with pytest.raises(ProcessLookupError):  # gone, not left running
        os.kill(child, 0)


@pytest.mark.slow
def test_an_isolated_check_reports_as_an_in_process_one(user_code, monkeypatch, capsys):
    """Same output, same exit code (1: over budget), though the module's atexit handler forges exit
    status 0 in the child (in-process, os._exit(0) at exit would turn 1 into 0)."""
    isolated = archlens_cli(user_code, "check", "iso_models:small_then_exit_0", *SHAPE, "--max-macs", "100", "-f", "csv")
    monkeypatch.chdir(user_code)
    monkeypatch.syspath_prepend(str(user_code))
    try:
        code = main(["check", "iso_models:small", *SHAPE, "--max-macs", "100", "-f", "csv", "--no-isolate"])
    finally:
        sys.modules.pop("iso_models", None)
    out, err = capsys.readouterr()
    assert isolated == (code, out, err) == (1, out, "")
    assert "\nnetwork,,macs,MACs,100,7776,-7676," in out  # 6x6 positions x 8 channels x 27 multiply-adds


@pytest.mark.parametrize("args, isolated", [
    (["check", "pkg.mod:factory", "--max-macs", "1G"], True),  # fail closed: isolated by default
    (["check", "pkg.mod:factory", "--max-macs", "1G", "--no-isolate"], False),
    (["check", "googlenet", "--max-macs", "1G"], False),  # a spec runs no user code
    (["check", "googlenet", "--max-macs", "1G", "--isolate"], True),
    (["profile", "pkg.mod:factory"], False),
    (["profile", "pkg.mod:factory", "--debug", "--isolate"], True),
    (["compare", "googlenet", "pkg.mod:factory", "--isolate"], True),
])
def test_which_commands_run_isolated(monkeypatch, capsys, args, isolated):
    """The child gets the whole command line as given, --debug included."""
    ran = []

    def run_command(argv):
        ran.append(argv)
        return 7

    monkeypatch.setattr(archlens.cli.isolation, "run_command", run_command)
    code = main(args)
    assert (code == 7, ran) == (isolated, [args] if isolated else [])


def test_the_isolated_child_does_not_isolate_again(monkeypatch):
    monkeypatch.setattr(archlens.cli.isolation, "_in_child", True)
    archlens.cli.isolation.isolate_command(True, ["pkg.mod:factory"], fail_closed=True)  # no RunIsolated

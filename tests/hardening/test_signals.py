"""Stop signals during a large write: the target keeps its earlier content, no temporary file stays,
the exit code is 128 + the signal's number, and one line says why.

Each test runs archlens in a real child process that writes a large output (256 MiB, about half a
second on a local disk) and sends the signal once the temporary file exists, as a terminal (SIGINT,
SIGQUIT, SIGHUP) or a CI runner (SIGTERM, SIGINT) would. Every child is waited for with a timeout and
killed if it outlives it; every file is in the test's own folder.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAYLOAD_MIB = 256

# The child: archlens's own CLI, with the rendered table replaced by a large payload, so the write
# is long enough to be interrupted in the middle.
WRITER = textwrap.dedent(f"""
    import sys
    import archlens.cli.networks as networks
    from archlens.cli import main

    payload = b"x" * ({PAYLOAD_MIB} << 20)
    networks.render_profile = lambda *args: payload
    sys.exit(main(["profile", "googlenet", "-o", sys.argv[1]]))
""")


def start(code: str, *args: str, cwd: Path, ignoring: tuple[int, ...] = ()) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}

    def ignore() -> None:  # as nohup does: an ignored signal stays ignored across exec
        for signum in ignoring:
            signal.signal(signum, signal.SIG_IGN)

    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, preexec_fn=ignore if ignoring else None)


def wait_for(condition, child: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if child.poll() is not None or time.monotonic() > deadline:
            child.kill()
            out, err = child.communicate()
            pytest.fail(f"never saw the moment to signal (exit {child.returncode}): {err.decode()[-2000:]}")
        time.sleep(0.002)


def finish(child: subprocess.Popen, timeout: float = 60) -> tuple[int, str, str]:
    try:
        out, err = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        pytest.fail("the child did not stop")
    return child.returncode, out.decode(), err.decode()


def temporaries(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.endswith(".tmp"))


EXPECTED_LINES = {
    signal.SIGINT: "archlens: interrupted",
    signal.SIGTERM: "archlens: stopped by SIGTERM",
    signal.SIGHUP: "archlens: stopped by SIGHUP",
    signal.SIGQUIT: "archlens: stopped by SIGQUIT",
}


@pytest.mark.parametrize("signum", list(EXPECTED_LINES), ids=lambda s: signal.Signals(s).name)
def test_a_signal_during_a_large_write_leaves_the_target_intact(tmp_path, signum):
    target = tmp_path / "report.json"
    target.write_text("the earlier report")
    child = start(WRITER, str(target), cwd=tmp_path)
    wait_for(lambda: temporaries(tmp_path), child)
    child.send_signal(signum)
    code, out, err = finish(child)
    assert (code, out) == (128 + signum, "")
    assert err.splitlines() == [EXPECTED_LINES[signum]]
    assert target.read_text() == "the earlier report"
    assert temporaries(tmp_path) == []


def test_a_signal_during_a_first_write_leaves_no_file(tmp_path):
    target = tmp_path / "new" / "report.json"
    child = start(WRITER, str(target), cwd=tmp_path)
    wait_for(lambda: (tmp_path / "new").is_dir() and temporaries(tmp_path / "new"), child)
    child.send_signal(signal.SIGTERM)
    code, _, err = finish(child)
    assert (code, err) == (143, "archlens: stopped by SIGTERM\n")
    assert os.listdir(tmp_path / "new") == []


def test_a_second_signal_does_not_cut_the_clean_up_short(tmp_path):
    """A CI runner's SIGTERM and the terminal's SIGINT to the whole group arrive together."""
    target = tmp_path / "report.json"
    target.write_text("earlier")
    child = start(WRITER, str(target), cwd=tmp_path)
    wait_for(lambda: temporaries(tmp_path), child)
    sent = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGTERM)
    for signum in sent:
        child.send_signal(signum)
    code, _, err = finish(child)
    assert code - 128 in sent  # pending together, they are delivered in the kernel's order: the first one counts
    assert err.splitlines() == [EXPECTED_LINES[code - 128]]
    assert target.read_text() == "earlier" and temporaries(tmp_path) == []


def test_an_ignored_signal_stays_ignored(tmp_path):
    """Under nohup, SIGHUP is ignored: closing the terminal must not stop the run."""
    target = tmp_path / "report.json"
    child = start(WRITER, str(target), cwd=tmp_path, ignoring=(signal.SIGHUP,))
    wait_for(lambda: temporaries(tmp_path), child)
    child.send_signal(signal.SIGHUP)
    code, _, err = finish(child)
    assert (code, err) == (0, f"wrote {target}\n")
    assert target.stat().st_size == PAYLOAD_MIB << 20 and temporaries(tmp_path) == []


SWALLOWER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from archlens.cli import main

    import archlens.cli.networks as networks
    render = networks.render_profile

    def swallowing(*args):  # as the user's code might: a bare except around a slow step
        Path("started").write_text("")
        try:
            time.sleep(30)
        except BaseException:
            pass
        return render(*args)

    networks.render_profile = swallowing
    sys.exit(main(["profile", "googlenet", *sys.argv[1:]]))
""")


def test_a_run_whose_stop_signal_was_swallowed_does_not_exit_0(tmp_path):
    """Told to stop, the run goes on to the end (something swallowed the exception): it still exits
    128 + the signal, so nothing reads success from a run that was stopped."""
    child = start(SWALLOWER, cwd=tmp_path)
    wait_for(lambda: (tmp_path / "started").exists(), child)
    child.send_signal(signal.SIGTERM)
    code, out, err = finish(child)
    assert code == 143
    assert err.splitlines() == ["archlens: stopped by SIGTERM"]


def test_a_swallowed_stop_signal_still_leaves_the_output_file_as_it_was(tmp_path):
    """The run goes on after the swallowed signal, but nothing is written: the earlier file stays, no
    temporary file remains, and there is no "wrote" line."""
    (tmp_path / "out.json").write_text("OLD\n")
    child = start(SWALLOWER, "-f", "json", "-o", "out.json", cwd=tmp_path)
    wait_for(lambda: (tmp_path / "started").exists(), child)
    child.send_signal(signal.SIGTERM)
    code, out, err = finish(child)
    assert code == 143
    assert err.splitlines() == ["archlens: stopped by SIGTERM"]
    assert (tmp_path / "out.json").read_text() == "OLD\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json", "started"]


def test_the_handlers_are_restored_after_main(capsys):
    from archlens.cli import main

    before = {signum: signal.getsignal(signum) for signum in EXPECTED_LINES}
    assert main(["profile", "googlenet", "-f", "csv"]) == 0
    assert {signum: signal.getsignal(signum) for signum in EXPECTED_LINES} == before

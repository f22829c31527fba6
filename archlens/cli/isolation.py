"""Running the user's code (module targets, ``pkg.module:callable``): what archlens catches in its own
process, and ``--isolate``, which runs a command in a child process that must report back.

**In-process**, whatever the user's import, factory or forward raises ends in one line and exit 2
(:func:`archlens.targets.user_code_errors` and the engines' own handlers):
any ``Exception``, ``SystemExit``, and the ``BaseException`` subclasses that are not interrupts
(``asyncio.CancelledError``, ``GeneratorExit``, a class of the user's own); ``KeyboardInterrupt`` stays
an interrupt (exit 130). What ends the process without raising cannot be caught in it: ``os._exit()``
(any status, 0 included), a signal the code sends its own process (``os.kill(os.getpid(), SIGKILL)``),
a crash in native code (a segmentation fault or an abort in a C extension or in PyTorch), the kernel's
out-of-memory killer; nor can archlens undo what the code changes in the process (signal handlers,
``sys.stdout``, file descriptors, the working directory, threads left running, ``atexit`` handlers
that change the exit status).

**Isolated** (``--isolate``; ``check`` does it by default for module targets), the command runs in a
child process: the same command line, the same standard streams, the same working directory and
environment. The child reports its exit code to the parent through a pipe once the command has
finished; a child that ends without reporting did not finish, whatever its exit status: one line and
exit 2 when it exited on its own (``os._exit(0)`` included), exit 3 when a signal killed it (a
crash). A signal the parent receives (SIGINT, SIGTERM, SIGHUP, SIGQUIT) is passed on to the child,
which stops cleanly. Isolation guards against accidents, not malice: the child runs as the same
user, with the same files, network and inherited pipe; it is not a sandbox.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from archlens.errors import TargetError

REPORT_FD_ENV = "ARCHLENS_ISOLATED_REPORT_FD"
"""The environment variable that tells a child process which file descriptor to report on."""

FORWARDED_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT")
                          if hasattr(signal, name))

_CHILD_CODE = "from archlens.cli.isolation import _child; _child()"
_in_child = False


class RunIsolated(Exception):
    """Raised by a command that is to run in a child process; :func:`archlens.cli.process.main` catches
    it and runs the same command line with :func:`run_command`."""


def isolate_command(isolate: bool | None, targets: Iterable[object], *, fail_closed: bool = False) -> None:
    """Called first by a command that may run the user's code (``profile``, ``check``, ``compare``):
    raise :class:`RunIsolated` when ``--isolate`` is given, or, for a command that must fail closed
    (``check``), when a target is a module target and ``--no-isolate`` is not given. Does nothing in
    the isolated child itself."""
    if _in_child:
        return
    if isolate is None:
        from archlens.targets import _names_a_module

        isolate = fail_closed and any(_names_a_module(target) for target in targets)
    if isolate:
        raise RunIsolated()


def run_command(argv: list[str]) -> int:
    """Run ``archlens ARGV`` in a child process; returns its exit code, or, when it ended without
    reporting one, says so in one line and returns 2 (it exited on its own) or 3 (a signal killed it).

    Standard input, output and error are the parent's; stdout is written by the child alone."""
    import subprocess


    read_end, write_end = os.pipe()
    received: list[int] = []
    child: "subprocess.Popen[bytes] | None" = None

    def forward(signum: int, frame: object) -> None:
        received.append(signum)
        if child is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signum)

    env = dict(os.environ)
    env[REPORT_FD_ENV] = str(write_end)
    home = str(Path(__file__).resolve().parents[2])  # the child imports this archlens, not another
    env["PYTHONPATH"] = os.pathsep.join([home, *filter(None, [env.get("PYTHONPATH")])])
    with _signals_handled_by(forward):
        try:
            child = subprocess.Popen([sys.executable, "-c", _CHILD_CODE, *argv], pass_fds=(write_end,), env=env)
        finally:
            os.close(write_end)
        for signum in list(received):  # arrived before the child existed
            forward(signum, None)
        returncode = child.wait()
    report = _read_report(read_end)
    if report is not None:
        return report
    return _unfinished(returncode, received)


def _unfinished(returncode: int, received: list[int]) -> int:
    from archlens.cli.process import _say, stop_line

    if received:  # stopped by what the parent passed on, before the child could say so itself
        _say(stop_line(received[0]))
        return 128 + received[0]
    if returncode < 0:
        name = _signal_name(-returncode)
        _say(f"archlens: error: the isolated run was killed by {name} before it finished: a crash (in native code: "
             "the module's, a C extension's or PyTorch's; SIGKILL is often the out-of-memory killer); nothing was "
             "measured")
        return 3
    _say(f"archlens: error: the isolated run ended with exit status {returncode} before it finished: the module's "
         "code ended the process (os._exit() or exit() in native code); nothing was measured")
    return 2


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


@contextlib.contextmanager
def _signals_handled_by(handler) -> Iterator[None]:
    """Install ``handler`` for the forwarded signals (main thread only), restoring the previous ones."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, handler) for signum in FORWARDED_SIGNALS
                if signal.getsignal(signum) not in (None, signal.SIG_IGN)}  # ignored: the child ignores it too
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def _read_report(read_end: int) -> int | None:
    """The exit code the child wrote, or None. Read without blocking: a grandchild the user's code
    started may still hold the pipe open."""
    try:
        os.set_blocking(read_end, False)
        data = os.read(read_end, 64)
    except (BlockingIOError, OSError):
        data = b""
    finally:
        os.close(read_end)
    text = data.decode("ascii", "replace").strip()
    return int(text) if text.isdigit() else None


def _child() -> None:
    """The isolated child: run the command, then report its exit code on the inherited pipe."""
    global _in_child
    report_fd = int(os.environ.pop(REPORT_FD_ENV))
    os.set_inheritable(report_fd, False)  # processes the user's code starts do not get it
    _in_child = True
    args = sys.argv[1:]
    try:
        from archlens.cli.process import main
    except KeyboardInterrupt:
        sys.stderr.write("archlens: interrupted\n")
        code = 130
    else:
        try:
            code = main(args)
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 2)
    with contextlib.suppress(OSError):
        os.write(report_fd, f"{code}\n".encode("ascii"))
        os.close(report_fd)
    sys.exit(code)

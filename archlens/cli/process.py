"""Process plumbing: exit codes, one-line errors, stop signals, closed pipes, narrow terminal encodings.

Errors become exit codes here and nowhere else: 0 ok, 1 over budget, 2 bad usage or bad input,
3 internal error, 128 + N stopped by signal N (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP, 131 SIGQUIT).
``--debug`` (anywhere on the line) shows tracebacks.
"""

from __future__ import annotations

import contextlib
import re
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Optional

import typer

from archlens.cli.app import app
from archlens.errors import ArchlensError
from archlens.outputs import checked_before_writing
from archlens.cli.isolation import FORWARDED_SIGNALS, RunIsolated

STOP_SIGNALS = FORWARDED_SIGNALS
"""The signals a terminal or a CI runner sends to stop a program (SIGINT, SIGTERM, SIGHUP, SIGQUIT):
each becomes a :class:`Stopped` exception, so every clean-up runs and an output file is never left
half-written. SIGKILL cannot be caught: the target file is intact, but a hidden temporary file
(``.NAME.*.tmp``) may remain beside it."""


class Stopped(KeyboardInterrupt):
    """A stop signal turned into an exception (a ``KeyboardInterrupt``, so everything that handles
    Ctrl-C handles it too, and ``except Exception`` in the user's code does not swallow it)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def main(argv: Optional[list[str]] = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 over budget, 2 bad input or usage, 3 internal error).

    Every failure ends in one line on stderr, never a traceback (``--debug`` shows it). Ctrl-C gives
    "interrupted" and 130, SIGTERM, SIGHUP and SIGQUIT "stopped by SIG..." and 128 + the signal's
    number, with any output file left as it was; a closed pipe (``archlens profile x | head``) ends
    quietly with 0.
    """
    original = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in original
    args = [arg for arg in original if arg != "--debug"]
    _tolerate_narrow_encodings()
    def not_stopped() -> None:  # a stop signal the module's code swallowed still stops every write
        if received:
            raise Stopped(received[0])

    with _stop_signals_raise() as received, checked_before_writing(not_stopped):
        try:
            code = _run(args, original, debug, received)
        except KeyboardInterrupt:  # a signal in the instant after the command's own handling
            code = _stopped(received)
        if received and code != 128 + received[0]:
            # The signal's exception was swallowed (by the module's code): whatever the command did, it
            # was told to stop, and a run that may not have finished must not exit 0.
            code = _stopped(received)
    return code


def _run(args: list[str], original: list[str], debug: bool, received: list[int]) -> int:
    try:
        try:
            result = app(args=args, prog_name="archlens", standalone_mode=False)
            sys.stdout.flush()  # a full disk or a closed pipe shows here, not at interpreter exit
        except SystemExit as done:
            # typer turns a broken pipe into sys.exit(1), and 1 means "over budget" here.
            if isinstance(done.__context__, BrokenPipeError):
                raise done.__context__ from None
            raise
        if result == 130:  # typer turns Ctrl-C into a silent exit code 130
            raise KeyboardInterrupt
        return result if isinstance(result, int) else 0
    except RunIsolated:
        from archlens.cli.isolation import run_command

        return run_command(original)
    except typer.Exit as done:
        return done.exit_code
    except typer.TyperException as error:  # usage errors: unknown option, bad value, missing argument
        if type(error).__name__ == "NoArgsIsHelpError":  # bare `archlens`: the help text is the answer
            _say_safely(error.show)
            return 2
        _say(f"archlens: error: {_usage_line(error)}")
        return 2
    except (typer.Abort, KeyboardInterrupt):
        return _stopped(received)
    except ArchlensError as error:
        if debug:
            _say_safely(_print_traceback)
        for problem in getattr(error, "problems", None) or [str(error)]:
            _say(f"archlens: error: {_one_line(problem)}")
        return error.exit_code
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except OSError as error:  # the environment, not the input: a full disk, a vanished folder
        if debug:
            _say_safely(_print_traceback)
        _say(f"archlens: error: {_os_error_place(error)}: {error.strerror or error}")
        return 2
    except Exception as error:  # noqa: BLE001 - the one place unexpected errors become a line
        if debug:
            raise
        memory = _out_of_memory(error)
        if memory is not None:  # the environment, like a full disk: the input asks for more than there is
            _say(f"archlens: error: out of memory{memory}; use a smaller --batch or --input-shape, or an engine "
                 "that allocates nothing (analytic, or torch on the meta device)")
            return 2
        _say(_internal_line(error))
        return 3
    except BaseException as error:  # noqa: BLE001 - neither an Exception nor an interrupt: CancelledError, ...
        if isinstance(error, SystemExit) or debug:
            raise
        _say(_internal_line(error))
        return 3


def stop_line(signum: int) -> str:
    """What a stop signal prints: ``archlens: interrupted`` (Ctrl-C), else ``archlens: stopped by SIGTERM``."""
    if signum == signal.SIGINT:
        return "archlens: interrupted"
    return f"archlens: stopped by {signal.Signals(signum).name}"


def _stopped(received: list[int]) -> int:
    signum = received[0] if received else signal.SIGINT
    _say(stop_line(signum))
    return 128 + signum


@contextlib.contextmanager
def _stop_signals_raise() -> Iterator[list[int]]:
    """While the CLI runs, each stop signal raises :class:`Stopped` once; the list it yields holds the
    signals received. A second signal while stopping is ignored, so the clean-up (removing a temporary
    file, printing the line) cannot be cut short; SIGKILL still stops at once. Main thread only; the
    earlier handlers come back afterwards. A signal that is ignored (``nohup`` ignores SIGHUP) stays
    ignored, as Python leaves an ignored SIGINT; one handled from C (a fuzzer's) is left alone."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def stop(signum: int, frame: object) -> None:
        received.append(signum)
        if len(received) == 1:
            raise Stopped(signum)

    previous = {}
    try:
        for signum in STOP_SIGNALS:
            if signal.getsignal(signum) not in (None, signal.SIG_IGN):
                previous[signum] = signal.signal(signum, stop)
        yield received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _internal_line(error: BaseException) -> str:
    first_line = (str(error).splitlines() or [""])[0]
    return (f"archlens: internal error: {type(error).__name__}: {first_line} (rerun with --debug for the traceback, "
            "and please report it)")


def _out_of_memory(error: Exception) -> Optional[str]:
    """`` (N bytes at once)``, ``""`` or None: whether ``error`` says memory ran out (a MemoryError, or
    PyTorch's CPU allocator refusing a tensor), and how much was asked for when it says."""
    if isinstance(error, MemoryError):
        return ""
    asked = re.search(r"DefaultCPUAllocator: can't allocate memory: you tried to allocate (\d+) bytes", str(error))
    return f" (PyTorch asked for {int(asked[1]):,} bytes at once)" if asked else None


def _usage_line(error: typer.TyperException) -> str:
    """click's usage error as one line, pointing at the command's help."""
    message = " ".join(error.format_message().split()).replace("Value error, ", "").rstrip(".")
    context = getattr(error, "ctx", None)
    command = getattr(context, "command_path", None) or "archlens"
    return f"{message} (see '{command} --help')"


def _one_line(text: str) -> str:
    """A problem as exactly one line: a newline or other line break in a file name or a value is
    shown escaped (``\\n``), never allowed to start a second, unprefixed line."""
    return "".join(repr(ch)[1:-1] if ch.isspace() and ch != " " or not ch.isprintable() else ch for ch in text)


def _os_error_place(error: OSError) -> str:
    """Where an operating-system error happened, as far as it says: its file, or writing the output."""
    import errno

    if error.filename is not None:
        return str(error.filename)
    if error.errno in (errno.ENOSPC, errno.EIO, errno.EFBIG, errno.EDQUOT, errno.EROFS, errno.EPIPE):
        return "cannot write output"
    return "system error"


def _tolerate_narrow_encodings() -> None:
    """On a terminal that cannot show UTF-8 (PYTHONIOENCODING=ascii, a Latin-1 locale), print "?" for
    the characters it lacks (the table's rules, the middle dot) instead of failing; files are UTF-8."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "utf-8").lower().replace("-", "").replace("_", "")
        if encoding != "utf8" and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="replace")
            except (ValueError, OSError):
                pass


def _say(line: str) -> None:
    """One line on stderr; a closed or full stderr must not turn into a traceback."""
    _say_safely(lambda: typer.echo(line, err=True))


def _say_safely(write) -> None:
    try:
        write()
    except (OSError, ValueError):
        pass


def _print_traceback() -> None:
    import traceback

    traceback.print_exc()


def _silence_stdout() -> None:
    """Point stdout at /dev/null so Python's flush at exit does not report the closed pipe again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())

"""Process plumbing: exit codes, one-line errors, interrupts, closed pipes, narrow terminal encodings.

Errors become exit codes here and nowhere else: 0 ok, 1 over budget, 2 bad usage or bad input,
3 internal error, 130 interrupted. ``--debug`` (anywhere on the line) shows tracebacks.
"""

from __future__ import annotations

import sys
from typing import Optional

import typer

from archlens.cli.app import app
from archlens.errors import ArchlensError


def main(argv: Optional[list[str]] = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 over budget, 2 bad input or usage, 3 internal error).

    Every failure ends in one line on stderr, never a traceback (``--debug`` shows it). Ctrl-C gives
    "interrupted" and 130; a closed pipe (``archlens profile x | head``) ends quietly with 0.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    args = [arg for arg in args if arg != "--debug"]
    _tolerate_narrow_encodings()
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
    except typer.Exit as done:
        return done.exit_code
    except typer.TyperException as error:  # usage errors: unknown option, bad value, missing argument
        if type(error).__name__ == "NoArgsIsHelpError":  # bare `archlens`: the help text is the answer
            _say_safely(error.show)
            return 2
        _say(f"archlens: error: {_usage_line(error)}")
        return 2
    except (typer.Abort, KeyboardInterrupt):
        _say("archlens: interrupted")
        return 130
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
        first_line = (str(error).splitlines() or [""])[0]
        _say(
            f"archlens: internal error: {type(error).__name__}: {first_line} (rerun with --debug for the traceback, "
            "and please report it)"
        )
        return 3


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

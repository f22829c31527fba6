"""What the fuzzer runs on each input, in plain Python (no atheris needed): the regression cases in
tests/fuzz/corpus/ replay through :func:`one_input` in the ordinary test run.

An input is bytes; its first byte chooses what the rest is:

* ``0``: YAML spec text, ``1``: JSON spec text: written to a file and read with
  :func:`archlens.load_spec`, then profiled (inference and training) and rendered in every text
  format. Only :class:`~archlens.errors.ArchlensError` may come out.
* ``2``: a command line: arguments separated by NUL bytes, decoded as POSIX decodes ``argv``
  (UTF-8, undecodable bytes as lone surrogates), given to :func:`archlens.cli.main`.
* ``3``: a command (the second byte picks one of :data:`SPEC_COMMANDS`) on a spec file whose YAML
  text is the rest.
* ``4``: a command of :data:`OPTION_COMMANDS` (the second byte) with fuzzed option values: the rest
  is NUL-separated pieces, each a byte picking one of :data:`OPTIONS` (modulo their number) and the
  option's value.

For the command lines, the exit code must be 0, 1 or 2 and stderr must hold no traceback and no
"internal error". Anything else raises :class:`Finding`.

Command lines are kept inside a scratch folder: an absolute path or ``..`` loses its meaning, module
targets (``pkg.mod:callable``: the fuzzer would call any function of any module with no arguments),
``--isolate`` (a child process a run), ``--debug`` (tracebacks on purpose), ``--device`` and the
fvcore engine (real weights and inputs in memory), and the ``graph`` and ``report`` commands (graphviz and a whole report
per input) are left out.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
from pathlib import Path

MODULE_TARGET = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
LEFT_OUT = {"--isolate", "--debug", "--device", "fvcore", "graph", "report"}
SPEC_COMMANDS = (
    ["validate", "{spec}"],
    ["profile", "{spec}", "-f", "json", "--depth", "0"],
    ["profile", "{spec}", "--train", "-f", "markdown"],
    ["profile", "{spec}", "--engine", "torch", "-f", "csv"],
    ["show", "{spec}"],
    ["check", "{spec}", "--max-macs", "1G", "-f", "json"],
    ["compare", "googlenet", "{spec}", "-f", "csv"],
    ["fit", "{spec}", "--max-params", "1M"],
    ["inception", "{spec}", "-f", "json"],
    ["profile", "{spec}", "--input-shape", "2,3,64,64", "-o", "out.csv"],
)

OPTION_COMMANDS = (
    ["profile", "googlenet"],
    ["profile", "googlenet", "--engine", "torch"],
    ["profile", "spec.yaml"],
    ["check", "googlenet", "--max-macs", "2G"],
    ["check", "alexnet", "--engine", "torch"],
    ["compare", "googlenet", "alexnet"],
    ["fit", "googlenet"],
    ["inception", "googlenet"],
    ["show", "resnet18"],
    ["claims"],
)
OPTIONS = ("--batch", "--input-shape", "--depth", "--max-params", "--max-macs", "--max-flops", "--max-activations",
           "--max-depth", "--block", "--divisor", "--dtype", "--engine", "--format", "--train", "--vary", "--part",
           "--output", "--paper", "--input", "--tokens", "--decode", "--strict", "--step", "--optimizer",
           "--mixed-precision", "--freeze", "--checkpoint", "--max-train-macs", "--max-train-memory")
MODES = 5


class Finding(AssertionError):
    """An input that broke the error model: a traceback, exit code 3, or an exception that is not an
    :class:`~archlens.errors.ArchlensError`."""


def one_input(data: bytes) -> str:
    """Run one fuzz input in the current directory (a scratch folder); returns how it ended: ``ok``,
    ``SpecError: LINE | LINE`` (the spec modes), or ``exit CODE: STDERR`` (the command lines)."""
    mode, payload = (data[0] % MODES, data[1:]) if data else (0, b"")
    if mode in (0, 1):
        return _spec(payload, Path("spec.json" if mode == 1 else "spec.yaml"))
    if mode == 2:
        return _command([_argument(part) for part in payload.split(b"\0")] if payload else [])
    if mode == 4:
        argv = list(OPTION_COMMANDS[payload[0] % len(OPTION_COMMANDS)]) if payload else ["profile", "googlenet"]
        for piece in payload[1:].split(b"\0") if payload else ():
            if piece:
                argv += [OPTIONS[piece[0] % len(OPTIONS)], _argument(piece[1:])]
        return _command(argv)
    command = SPEC_COMMANDS[payload[0] % len(SPEC_COMMANDS)] if payload else SPEC_COMMANDS[0]
    Path("spec.yaml").write_bytes(payload[1:])
    return _command([part.format(spec="spec.yaml") for part in command])


def _spec(text: bytes, path: Path) -> str:
    from archlens.counting.analytic import profile_spec
    from archlens.errors import ArchlensError
    from archlens.spec import load_spec

    path.write_bytes(text)
    try:
        spec = load_spec(path)
        for train in (False, True):
            profile = profile_spec(spec, train=train)
            for format in ("table", "csv", "json", "markdown"):
                profile.render(format)
    except ArchlensError as error:  # the message must be makeable, and be lines
        return f"{type(error).__name__}: " + " | ".join(getattr(error, "problems", None) or [str(error)])
    return "ok"


def _argument(part: bytes) -> str:
    """An argument as the CLI would receive it, kept inside the scratch folder and away from user code."""
    text = part.decode("utf-8", "surrogateescape")
    if text in LEFT_OUT or MODULE_TARGET.match(text):
        return "x"
    if text.startswith(("/", "~")) or ".." in text:
        return text.replace("/", "_").replace("..", "__").lstrip("~") or "x"
    return text


def _command(argv: list[str]) -> str:
    from archlens.cli import main

    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    err = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    stderr = err.getvalue()
    if code not in (0, 1, 2) or "Traceback" in stderr or "internal error" in stderr:
        raise Finding(f"archlens {argv!r} exited {code}: {stderr[-2000:]}")
    return f"exit {code}: " + " | ".join(stderr.splitlines())


def clean(workdir: Path) -> None:
    """Empty the scratch folder (outputs pile up over a long run)."""
    import shutil

    for entry in workdir.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                entry.unlink()


if __name__ == "__main__":  # replay one input by hand: python tests/fuzz/harness.py FILE
    import tempfile

    given = Path(sys.argv[1]).read_bytes()
    with tempfile.TemporaryDirectory() as scratch:
        os.chdir(scratch)
        print(one_input(given))

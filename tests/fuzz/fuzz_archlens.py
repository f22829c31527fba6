"""The coverage-guided fuzzer: atheris (libFuzzer for Python) over the spec loader and the CLI.

    python tests/fuzz/fuzz_archlens.py -max_total_time=600 -dict=tests/fuzz/archlens.dict WORK tests/fuzz/seeds
    ARCHLENS_FUZZ_SCRATCH=/tmp/fuzz python tests/fuzz/fuzz_archlens.py --all-seeds -max_total_time=600 -dict=tests/fuzz/archlens.dict WORK

Every archlens module is instrumented (edges and comparisons), nothing else; what one input does is
:func:`tests.fuzz.harness.one_input`. ``WORK`` is a folder the fuzzer grows its corpus in (give an
empty one); ``--all-seeds`` adds every spec of tests/corpus/ and archlens/specs/ as seeds (slower to
start). A finding is written as ``crash-*`` (or ``timeout-*``, ``oom-*``) where ``-artifact_prefix``
says; replay it with ``python tests/fuzz/harness.py FILE``, fix it, and keep it in tests/fuzz/corpus/.
test_fuzz.py runs this for a few seconds in the test suite.
"""

from __future__ import annotations

import os
import pkgutil
import sys
import tempfile
from pathlib import Path

import atheris

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

with atheris.instrument_imports(include=["archlens"]):
    import archlens

    for module in pkgutil.walk_packages(archlens.__path__, "archlens."):  # archlens imports lazily: all now
        if module.name != "archlens.__main__":
            __import__(module.name)

from tests.fuzz.harness import clean, one_input  # noqa: E402

# Where the command lines run and write; libFuzzer ends the process with C's exit(), so Python's own
# clean-up never runs: give a folder to reuse (the test gives its own), else one is made in /tmp.
SCRATCH = Path(os.environ.get("ARCHLENS_FUZZ_SCRATCH") or tempfile.mkdtemp(prefix="archlens-fuzz-"))
SCRATCH.mkdir(parents=True, exist_ok=True)
CLEAN_EVERY = 500
_runs = 0


def test_one_input(data: bytes) -> None:
    global _runs
    _runs += 1
    if _runs % CLEAN_EVERY == 0:
        clean(SCRATCH)
    one_input(data)


def all_seeds() -> str:
    """Every spec the repository holds, as fuzz inputs of modes 0 (YAML), 1 (JSON) and 3 (a command)."""
    folder = SCRATCH.parent / f"{SCRATCH.name}-seeds"
    folder.mkdir(exist_ok=True)
    specs = sorted((ROOT / "tests" / "corpus").glob("*.*")) + sorted((ROOT / "archlens" / "specs").glob("*.yaml"))
    for index, path in enumerate(specs):
        data = path.read_bytes()
        mode = b"\1" if path.suffix == ".json" else b"\0"
        (folder / f"{index:03d}-spec").write_bytes(mode + data)
        (folder / f"{index:03d}-command").write_bytes(b"\3" + bytes([index % 10]) + data)
    return str(folder)


def absolute(arg: str) -> str:
    """Paths among libFuzzer's arguments, made absolute before the fuzzer moves into its scratch folder."""
    if arg.startswith("-"):
        key, equals, value = arg.partition("=")
        if equals and key in ("-dict", "-artifact_prefix", "-exact_artifact_path", "-seed_inputs"):
            return f"{key}={os.path.abspath(value)}{os.sep if value.endswith(os.sep) else ''}"
        return arg
    return os.path.abspath(arg)


def main() -> None:
    args = [sys.argv[0], *(absolute(arg) for arg in sys.argv[1:] if arg != "--all-seeds")]
    if "--all-seeds" in sys.argv:
        args.append(all_seeds())
    os.chdir(SCRATCH)
    atheris.Setup(args, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()

"""The fuzzer in the test suite: its findings replayed, and a short coverage-guided run.

tests/fuzz/corpus/ keeps every input the fuzzer found that broke the error model (a traceback, exit
3, an exception that is not an ArchlensError), one case of each class the second hardening round
fixed (``issue14-*``: numbers past 64 bits, runaway expansion, a lone surrogate, reserved layer names,
rich markup in a name, YAML 1.1 base-60), and ``expected.txt`` the way each ends now: the exact
one-line error (exit 2) or ``ok``. A new finding is added by saving its file there and its line.

The short run (``ARCHLENS_FUZZ_SECONDS``, default 8, after a few seconds of start-up) starts from
tests/fuzz/seeds/ and the corpus and must find nothing; run it longer by hand (fuzz_archlens.py).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.fuzz.harness import one_input

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CORPUS = HERE / "corpus"


def expected_outcomes() -> dict[str, str]:
    table = {}
    for row in (CORPUS / "expected.txt").read_text(encoding="utf-8").splitlines():
        if row and not row.startswith("#"):
            name, outcome = row.split("\t", 1)
            table[name] = outcome
    return table


EXPECTED = expected_outcomes()


def test_every_corpus_case_has_an_expected_outcome():
    assert sorted(p.name for p in CORPUS.iterdir() if p.name != "expected.txt") == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_corpus_case_ends_as_expected(name, tmp_path, monkeypatch):
    """Each case ends in its one line (never a traceback, never exit 3): harness.one_input raises
    Finding otherwise."""
    monkeypatch.chdir(tmp_path)
    assert one_input((CORPUS / name).read_bytes()) == EXPECTED[name]


@pytest.mark.slow
def test_the_fuzzer_finds_nothing_new(tmp_path):
    try:
        import atheris  # noqa: F401
    except ImportError:
        if IN_CI:
            pytest.fail("atheris is required in CI (pip install -e .[test])")
        pytest.skip("atheris is not installed")
    seconds = int(os.environ.get("ARCHLENS_FUZZ_SECONDS", "8"))
    work, found = tmp_path / "work", tmp_path / "found"
    work.mkdir()
    found.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "ARCHLENS_FUZZ_SCRATCH": str(tmp_path / "scratch")}
    run = subprocess.run(
        [sys.executable, str(HERE / "fuzz_archlens.py"), f"-max_total_time={seconds}", "-timeout=30",
         "-rss_limit_mb=3000", f"-dict={HERE / 'archlens.dict'}", f"-artifact_prefix={found}{os.sep}",
         "-print_final_stats=1", str(work), str(HERE / "seeds"), str(CORPUS)],
        capture_output=True, text=True, env=env, timeout=seconds + 240,
    )
    findings = {path.name: path.read_bytes()[:300] for path in found.iterdir()}
    assert (run.returncode, findings) == (0, {}), run.stderr[-3000:]
    assert "Done " in run.stderr  # it ran: "Done N runs in S second(s)"

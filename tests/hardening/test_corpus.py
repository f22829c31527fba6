"""The bad-input corpus (tests/corpus): every file ends in exactly its expected line and exit 2.

tests/corpus/expected.txt maps each file to the one line ``archlens validate`` prints for it. The
same file given to ``archlens profile`` and ``archlens show`` fails with the same problem, also in
one line. Adding a case is adding a file and its line.
"""

import os
import stat
import threading
from pathlib import Path

import pytest

import archlens
from archlens.cli import main
from archlens.errors import ArchlensError, SpecError
from archlens.spec import loader

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "corpus"
PREFIX = "archlens: error: "


def expected_lines() -> dict[str, str]:
    table = {}
    for row in (CORPUS / "expected.txt").read_text(encoding="utf-8").splitlines():
        if row and not row.startswith("#"):
            name, line = row.split("\t")
            table[name] = line
    return table


EXPECTED = expected_lines()


def test_every_corpus_file_has_an_expected_line():
    files = sorted(p.name for p in CORPUS.iterdir() if p.name != "expected.txt")
    assert files == sorted(EXPECTED)
    assert len(files) >= 50


@pytest.fixture
def at_root(monkeypatch):
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_validate_prints_the_expected_line(name, at_root, capsys):
    code = main(["validate", f"tests/corpus/{name}"])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.splitlines() == [PREFIX + EXPECTED[name]]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_profile_fails_the_same_way(name, at_root, capsys):
    code = main(["profile", f"tests/corpus/{name}"])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.splitlines() == [PREFIX + EXPECTED[name]]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_show_fails_the_same_way(name, at_root, capsys):
    """``show`` expands, and expansion infers shapes (a block may depend on its input): a spec whose
    shapes cannot work fails to show with the line ``validate`` prints."""
    code = main(["show", f"tests/corpus/{name}"])
    out, err = capsys.readouterr()
    assert (code, out, err.splitlines()) == (2, "", [PREFIX + EXPECTED[name]])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_library_raises_only_archlens_errors(name):
    with pytest.raises(ArchlensError):
        archlens.profile(CORPUS / name, train=True)


def test_a_file_over_the_size_limit(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text("name: x\nlayers:\n" + "  - relu: {}\n" * (loader.MAX_FILE_BYTES // 13 + 1))
    with pytest.raises(SpecError) as caught:
        archlens.load_spec(big)
    assert str(caught.value) == (
        f"{big}: is larger than 2,097,152 bytes, the limit for a spec; a spec describes layers, not weights: "
        "use macros (inception, vgg_stage) to keep it short"
    )


def test_an_endless_device_is_read_only_up_to_the_limit():
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    with pytest.raises(SpecError, match="^/dev/zero: is larger than 2,097,152 bytes"):
        archlens.load_spec("/dev/zero")


def test_a_named_pipe_is_read_like_a_file(tmp_path):
    """`archlens profile <(generate-spec)` reads a pipe: bounded, not by its (zero) size."""
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_text("name: piped\nlayers: [{relu: {}}]\n"))
    writer.start()
    assert archlens.load_spec(fifo).name == "piped"
    writer.join(timeout=10)
    assert stat.S_ISFIFO(fifo.stat().st_mode)


@pytest.mark.parametrize("target, expected", [
    ("googlnet", "unknown network 'googlnet'; did you mean 'googlenet'? "
                 "(`archlens list` shows the built-in networks; a file needs .yaml or .json)"),
    ("tests/corpus/missing.yaml", "tests/corpus/missing.yaml: no such file; check the path, or run `archlens list` "
                                  "for built-in names"),
    ("tests/corpus/", "tests/corpus: is a directory, not a spec file; give a .yaml or .json file"),
    ("tests", "tests: is a directory, not a spec file; give a .yaml or .json file"),
    ("xyzzy", "unknown network 'xyzzy'; `archlens list` shows the built-in networks; a file needs .yaml or .json"),
    ("", "unknown network ''; `archlens list` shows the built-in networks; a file needs .yaml or .json"),
])
def test_names_and_paths_that_are_not_specs(target, expected, at_root, capsys):
    assert main(["profile", target]) == 2
    assert capsys.readouterr().err.splitlines() == [PREFIX + expected]

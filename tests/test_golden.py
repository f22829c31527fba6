"""Golden files: every output format of a few profiles and analyses, byte for byte.

Each case runs one command line in-process and compares what it writes with a file under
``tests/golden/``. After a deliberate change of output, regenerate them and read the diff:

    python -m pytest tests/test_golden.py --regen-golden

Terminal tables are rendered at a fixed width (the renderers never measure the terminal), so the
files are the same on every machine.
"""

from pathlib import Path

import pytest

import archlens
from archlens.cli import main

GOLDEN = Path(__file__).resolve().parent / "golden"
EXTENSIONS = {"table": "txt", "csv": "csv", "json": "json", "markdown": "md", "yaml": "yaml"}
FORMATS = ("table", "csv", "json", "markdown")


def _cases():
    """``(file stem, format, arguments, exit code)`` for every golden file."""
    yield from (("profile-googlenet", f, ["profile", "googlenet", "--depth", "1"], 0) for f in FORMATS)
    yield from (("profile-googlenet-depth0", f, ["profile", "googlenet", "--depth", "0"], 0) for f in FORMATS)
    yield from (("profile-paper", f, ["profile", "googlenet", "--paper"], 0) for f in FORMATS)
    yield from (("compare", f, ["compare", "googlenet", "alexnet", "vgg16"], 0) for f in FORMATS)
    pass_args = ["check", "googlenet", "--max-params", "7M", "--max-macs", "1.6G", "--max-activations", "64MB",
                 "--max-depth", "22", "--block", "inception_4*:macs=200M,params=1M"]
    yield from (("check-pass", f, pass_args, 0) for f in FORMATS)
    fail_args = ["check", "googlenet", "--max-macs", "1.5G", "--block", "inception_*:macs=200M"]
    yield from (("check-fail", f, fail_args, 1) for f in FORMATS)
    yield from (("inception", f, ["inception"], 0) for f in ("table", "json", "markdown"))
    yield ("inception-modules", "csv", ["inception", "--part", "modules"], 0)
    yield ("inception-cascade", "csv", ["inception", "--part", "cascade"], 0)
    yield ("inception-cascade", "table", ["inception", "--part", "cascade"], 0)
    yield from (("claims", f, ["claims"], 0) for f in FORMATS)
    yield from (("fit", f, ["fit", "googlenet", "--max-macs", "1.5G"], 0) for f in ("yaml", "json"))
    yield from (("diff", f, ["diff", "googlenet", "googlenet-naive"], 0) for f in FORMATS)
    train_args = ["profile", "resnet50", "--batch", "32", "--step", "train", "--optimizer", "adamw"]
    yield from (("profile-resnet50-train", f, train_args, 0) for f in ("table", "json"))


CASES = list(_cases())


def check_golden(name: str, text: str, regen: bool) -> None:
    """Compare ``text`` with ``tests/golden/name`` (or write it under ``--regen-golden``)."""
    path = GOLDEN / name
    if regen:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"no golden file {path.name}; run: python -m pytest {__file__} --regen-golden"
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"{path.name} differs; if the change is deliberate, rerun with --regen-golden"


@pytest.mark.parametrize("stem, fmt, args, code", CASES, ids=[f"{c[0]}.{c[1]}" for c in CASES])
def test_output_matches_its_golden_file(capsys, regen_golden, stem, fmt, args, code):
    assert main([*args, "--format", fmt]) == code
    out, err = capsys.readouterr()
    check_golden(f"{stem}.{EXTENSIONS[fmt]}", out, regen_golden)
    if args[0] == "fit":  # what fit found goes to stderr, the spec to stdout
        check_golden(f"{stem}.stderr.txt", err, regen_golden)


def test_every_golden_file_has_a_case():
    made = {f"{stem}.{EXTENSIONS[fmt]}" for stem, fmt, _, _ in CASES} | {"fit.stderr.txt", *HTML_CASES}
    assert sorted(path.name for path in GOLDEN.iterdir()) == sorted(made)


HTML_CASES = {
    "profile-googlenet.html": lambda: archlens.profile("googlenet"),
    "profile-paper.html": lambda: archlens.reproduce_table1(),
    "check-fail.html": lambda: archlens.check("googlenet", max_macs="1.5G", blocks=[{"match": "inception_*",
                                                                                     "max_macs": "200M"}]),
    "diff.html": lambda: archlens.diff("googlenet", "googlenet-naive"),
}


@pytest.mark.parametrize("name", HTML_CASES)
def test_notebook_html_matches_its_golden_file(regen_golden, name):
    """A notebook's display of a result (the ``notebook`` format: a scoped style, then the ``html`` fragment
    a report shows), one line a fragment."""
    check_golden(name, HTML_CASES[name]()._repr_html_() + "\n", regen_golden)

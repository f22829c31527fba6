"""The README shows real figures: its table of built-in networks is what the specs give today."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _builtin_table():
    location = ROOT / "docs" / "builtin_table.py"
    module_spec = importlib.util.spec_from_file_location("builtin_table", location)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def test_the_readme_table_of_built_in_networks_is_current():
    made = _builtin_table()
    assert made.readme_table((ROOT / "README.md").read_text()) == made.table(), \
        "README's table of built-in networks is stale: run python docs/builtin_table.py --write"


def test_the_readme_shows_the_training_step_as_the_cli_prints_it():
    """README "What a training step costs" pastes `archlens profile resnet50 --batch 32 --step train
    --optimizer adamw`: the golden file (tests/test_golden.py runs the command) must appear in it verbatim."""
    printed = (ROOT / "tests" / "golden" / "profile-resnet50-train.txt").read_text(encoding="utf-8")
    assert printed.rstrip("\n") in (ROOT / "README.md").read_text(encoding="utf-8"), \
        "README's training-step output is stale: paste tests/golden/profile-resnet50-train.txt"

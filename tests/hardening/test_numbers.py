"""Numbers on the command line past 64 bits: one line and exit 2, never an internal error.

Every size the command line takes (``--batch``, each ``--input-shape`` number) is at most 2^63 - 1,
PyTorch's (and C's) limit; spec files may hold larger sizes, which the analytic engine counts exactly
(tests/hardening/test_scale.py). An input the torch engines cannot hold (more than 2^63 - 1 elements,
or more memory than there is) is one line too.
"""

import sys
import textwrap

import pytest

from archlens.cli import main

HUGE = "99999999999999999999999999"  # 27 digits: past 2^64
LIMIT = "9,223,372,036,854,775,807"


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err.splitlines()


@pytest.mark.parametrize("shape, size", [
    ("1,99999999999999999999999", "99999999999999999999999"),
    (f"{HUGE},3,224,224", HUGE),
    ("1,3,9223372036854775808,4", "9223372036854775808"),  # 2^63: one past
    ("1x3x224x00000000000000000000009223372036854775808", "00000000000000000000009223372036854775808"),
])
@pytest.mark.parametrize("command", [["profile", "googlenet"], ["check", "googlenet"], ["compare", "googlenet"],
                                     ["graph", "googlenet", "-o", "never.svg"],
                                     ["report", "googlenet", "-o", "never.html"]])
def test_an_input_shape_past_64_bits_is_one_line(capsys, tmp_path, monkeypatch, command, shape, size):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *command, "--input-shape", shape)
    assert (code, out) == (2, "")
    shown = repr(shape if len(shape) <= 40 else shape[:40] + "…")
    size = size if len(size) <= 40 else size[:40] + "…"
    assert err == [f"archlens: error: --input-shape {shown}: {size} is larger than 2^63 - 1 ({LIMIT}), the largest "
                   "size the command line takes; a spec file may hold larger sizes (the analytic engine counts them "
                   "exactly)"]


def test_a_very_long_number_is_cut_in_the_message(capsys):
    code, _, err = run(capsys, "profile", "googlenet", "--input-shape", "1," + "9" * 5000)
    assert code == 2 and len(err) == 1 and len(err[0]) < 400


@pytest.mark.parametrize("shape", ["1,３,224,224", "1,3,2_24,224", "1,3,+224,224", "1,3,224,224.0", "", "1,,3",
                                   "1,3,224,224,", "0b1,3,4,4", "1e3,3,4,4"])
def test_only_ascii_digits_make_a_size(capsys, shape):
    """int() reads '３' (a full-width digit), '2_24' and '+224': the command line takes plain digits only."""
    code, _, err = run(capsys, "profile", "googlenet", "--input-shape", shape)
    assert code == 2
    assert err == [f"archlens: error: --input-shape {shape!r} is not a list of integers; write it like 1,3,224,224"]


@pytest.mark.parametrize("command", [["profile", "googlenet"], ["profile", "googlenet", "--engine", "torch"],
                                     ["check", "googlenet"]])
@pytest.mark.parametrize("batch", [HUGE, "9223372036854775808", "9" * 5000])
def test_a_batch_past_64_bits_is_one_line(capsys, command, batch):
    code, out, err = run(capsys, *command, "--batch", batch)
    assert (code, out) == (2, "")
    assert len(err) == 1 and err[0].startswith("archlens: error: Invalid value for '--batch': ")


@pytest.mark.parametrize("engine", ["torch", "fvcore"])
def test_a_batch_pytorch_cannot_hold_names_the_layer(capsys, engine):
    """2^63 - 1 is a valid size, but times 3x224x224 it is past what a tensor may hold."""
    if engine == "fvcore":
        pytest.importorskip("fvcore")
    code, out, err = run(capsys, "profile", "googlenet", "--engine", engine, "--batch", "9223372036854775807")
    assert (code, out) == (2, "")
    assert err == ["archlens: error: conv1.conv: its input 9223372036854775807x3x224x224 has more than 2^63 - 1 "
                   "elements, PyTorch's limit; the analytic engine counts it exactly: use --engine analytic"]


def test_a_batch_past_memory_is_one_line(capsys):
    """fvcore runs on real tensors: 2^32 images of 3x224x224 would need 2.6 PB."""
    pytest.importorskip("fvcore")
    code, out, err = run(capsys, "profile", "googlenet", "--engine", "fvcore", "--batch", "4294967296")
    assert (code, out) == (2, "")
    assert err == ["archlens: error: out of memory (PyTorch asked for 2,586,051,348,529,152 bytes at once); use a "
                   "smaller --batch or --input-shape, or an engine that allocates nothing (analytic, or torch on the "
                   "meta device)"]


def test_the_analytic_engine_counts_a_batch_up_to_the_limit(capsys):
    code, out, err = run(capsys, "profile", "googlenet", "--batch", "9223372036854775807", "-f", "json")
    assert code == 0 and '"macs": 14597571487721401018605000704' in out  # 1,582,671,872 x (2^63 - 1)


@pytest.fixture
def module_target(tmp_path, monkeypatch):
    (tmp_path / "numbers_models.py").write_text(textwrap.dedent("""
        from torch import nn

        def small():
            return nn.Conv2d(3, 8, 3)
    """))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "numbers_models:small"
    sys.modules.pop("numbers_models", None)


@pytest.mark.parametrize("shape, expected", [
    (f"1,{HUGE}", f"--input-shape '1,{HUGE}': {HUGE} is larger than 2^63 - 1"),
    ("1,3,4294967296,4294967296", "numbers_models:small: the input 1x3x4294967296x4294967296 has more than 2^63 - 1 "
                                  "elements, PyTorch's limit; give a smaller --input-shape"),
    ("9223372036854775807,3,8,8", "numbers_models:small: the input 9223372036854775807x3x8x8 has more than 2^63 - 1 "
                                  "elements, PyTorch's limit; give a smaller --input-shape"),
])
def test_a_module_target_with_an_input_past_pytorchs_sizes(module_target, capsys, shape, expected):
    pytest.importorskip("torch")
    code, out, err = run(capsys, "profile", module_target, "--input-shape", shape, "--no-isolate")
    assert (code, out) == (2, "")
    assert len(err) == 1 and err[0].startswith(f"archlens: error: {expected}")

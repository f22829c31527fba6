"""A module target's inputs on the command line (several, typed, by keyword), --device cpu for
values that decide the work, and --strict; compare and check list what could not be counted."""

import json
import textwrap

import pytest

import archlens
from archlens.cli import main
from archlens.errors import UncountedOps

MODULE = textwrap.dedent('''
    import torch
    from torch import nn


    class Tagger(nn.Module):
        """An embedding (a free lookup) and a linear layer, masked by keyword."""

        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(1000, 64)
            self.proj = nn.Linear(64, 10)

        def forward(self, ids, mask=None):
            x = self.embed(ids)
            if mask is not None:
                x = x * mask.unsqueeze(-1)
            return self.proj(x)


    class Odd(nn.Module):
        """An op no formula counts."""

        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 8)

        def forward(self, x):
            return torch.special.bessel_j0(self.fc(x))


    class Picky(nn.Module):
        """Work that depends on the values: only the positive entries go through the layer."""

        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            return self.fc(x[torch.nonzero(x[:, 0] > -100).squeeze(1)])
''')


@pytest.fixture
def in_module_folder(tmp_path, monkeypatch):
    (tmp_path / "mynets.py").write_text(MODULE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path


def run(capfd, *args):
    code = main(list(args))
    out, err = capfd.readouterr()
    return code, out, err


def test_several_typed_and_keyword_inputs(in_module_folder, capfd):
    code, out, _ = run(capfd, "profile", "mynets:Tagger", "--input", "2,16:int64", "--input", "mask=2,16",
                       "-f", "json")
    assert code == 0
    totals = json.loads(out)["totals"]
    # by hand: the lookup is free; the linear layer 2 x 16 tokens x 64 x 10; the mask 2 x 16 x 64 multiplies
    assert totals["macs"] == 2 * 16 * 64 * 10 == 20_480
    assert totals["elementwise_ops"] == 2 * 16 * 64
    assert totals["params"] == 1000 * 64 + 64 * 10 + 10
    assert json.loads(out)["inputs"] == ["2x16 int64", "mask=2x16 float32"]
    code, out, _ = run(capfd, "profile", "mynets:Tagger", "--input", "2,16:int64", "--input", "mask=2,16")
    assert out.splitlines()[0] == "mynets:Tagger · inputs 2x16 int64, mask=2x16 float32 · float32 · torch engine · inference"


@pytest.mark.parametrize("args, message", [
    (["--input", "2,16:int64", "--input-shape", "2,16"], "give --input-shape or --input, not both"),
    (["--input", "mask=2,16", "--input", "2,16:int64"], "inputs in order come before inputs by name"),
    (["--input", "2-x=2,16"], "'2-x' is not a parameter name"),
    (["--input", "mask="], "has no shape"),
    (["--input", "2,16:"], "has ':' but no dtype"),
])
def test_input_mistakes_are_one_line(in_module_folder, capfd, args, message):
    code, out, err = run(capfd, "profile", "mynets:Tagger", *args)
    assert (code, out) == (2, "") and len(err.splitlines()) == 1 and message in err


def test_strict_fails_naming_the_op_everywhere(in_module_folder, capfd, tmp_path):
    for command in (["profile"], ["compare"], ["check", "--max-macs", "1M"], ["report", "-o", str(tmp_path / "r.md")]):
        code, out, err = run(capfd, *command, "mynets:Odd", "--input-shape", "1,8", "--strict")
        assert code == 2, command
        assert err.strip().splitlines() == ["archlens: error: not counted: aten.special_bessel_j0 x1 in (top); "
                                            "teach the engine each op with archlens.register_op(op, formula)"]
    with pytest.raises(UncountedOps) as caught:
        archlens.profile(__import__("mynets").Odd(), input_shape=(1, 8), strict=True)
    assert caught.value.ops == ("aten.special_bessel_j0",)


def test_without_strict_compare_and_check_list_what_was_not_counted(in_module_folder, capfd):
    code, out, _ = run(capfd, "compare", "mynets:Odd", "mynets:Odd", "--input-shape", "1,8", "-f", "json")
    assert code == 0
    assert json.loads(out)["networks"][0]["not_counted"] == [{"op": "aten.special_bessel_j0", "count": 1}]
    code, out, _ = run(capfd, "check", "mynets:Odd", "--input-shape", "1,8", "--max-macs", "1M", "-f", "json")
    assert code == 0 and json.loads(out)["not_counted"] == [{"op": "aten.special_bessel_j0", "count": 1}]
    code, out, _ = run(capfd, "check", "mynets:Odd", "--input-shape", "1,8", "--max-macs", "1M")
    assert "Not counted in mynets:Odd (its figures miss what these ops do): aten.special_bessel_j0 x1" in out


def test_device_cpu_for_work_that_depends_on_values(in_module_folder, capfd):
    code, out, err = run(capfd, "profile", "mynets:Picky", "--input-shape", "3,4")
    assert code == 2 and "aten.nonzero" in err and "--device cpu" in err
    code, out, err = run(capfd, "profile", "mynets:Picky", "--input-shape", "3,4", "--device", "cpu", "-f", "json")
    assert code == 0
    # every row passes the test (x > -100 for random normal values): 3 rows x 4 x 4
    assert json.loads(out)["totals"]["macs"] == 3 * 4 * 4


@pytest.mark.parametrize("args, message", [
    (["profile", "resnet18", "--input", "1,3,32,32"],
     "--input gives a module target's inputs; a spec's input is set by --input-shape"),
    (["check", "resnet18", "--input", "1,3,32,32", "--max-macs", "100M"],
     "--input gives a module target's inputs; a spec's input is set by --input-shape"),
    (["profile", "resnet18", "--device", "banana"], "unknown device 'banana'; use one of meta, cpu"),
    (["compare", "resnet18", "alexnet", "--device", "cpu"], "--device cpu applies to module targets"),
])
def test_module_options_on_a_spec_are_refused_not_ignored(capfd, args, message):
    """A spec took --input and --device and measured at its own input (resnet18 at 224x224, 1.8 G MACs)."""
    code, out, err = run(capfd, *args)
    assert (code, out) == (2, "") and len(err.splitlines()) == 1 and message in err

"""The target resolver: one meaning of --input-shape, --batch and --train for every command.

The figures are checked by hand. alexnet-torchvision on 112x112: conv1 (11x11/4, pad 2) gives 27x27x64,
16,936,128 MACs; pool to 13x13, conv2 (5x5, 192) 51,916,800; pool to 6x6, conv3 (384) 23,887,872,
conv4 (256) 31,850,496, conv5 (256) 21,233,664; pool to 2x2, adaptive pool to 6x6; fc 9216x4096,
4096x4096, 4096x1000: 58,621,952. In all 204,446,912 (on 224x224: 714,188,480).
"""

import json

import pytest

import archlens
from archlens.cli import main
from archlens.errors import ArchlensError, ShapeError, TargetError
from archlens.targets import ModuleTarget, SpecTarget, TargetOptions, resolve, resolve_spec

SMALL = ["--input-shape", "1,3,112,112"]
ALEX_112 = 204_446_912
ALEX_224 = 714_188_480


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_spec_takes_the_input_shape_and_its_batch():
    target = resolve("alexnet-torchvision", TargetOptions(input_shape=(2, 3, 112, 112)))
    assert isinstance(target, SpecTarget) and target.source is None
    assert target.input_shape == (2, 3, 112, 112) and target.batch == 2
    assert resolve("googlenet", TargetOptions(batch=4, train=True)).input_shape == (4, 3, 224, 224)


def test_a_spec_file_is_its_own_source(tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text("name: net\nlayers:\n  - conv: {out: 4, kernel: 3}\n")
    assert resolve(str(path)).source == str(path)
    with pytest.raises(ShapeError, match=f"^{path}: "):  # shape errors name the file
        archlens.profile(str(path), input_shape=(1, 3, 2, 2))


def test_options_that_contradict_each_other_or_the_target():
    with pytest.raises(ArchlensError, match="--batch 4 and --input-shape 2,3,224,224 disagree"):
        resolve("googlenet", TargetOptions(input_shape=(2, 3, 224, 224), batch=4))
    with pytest.raises(ArchlensError, match=r"an input shape for googlenet \(an image\) is N,C,H,W; got 1,3,224"):
        resolve("googlenet", TargetOptions(input_shape=(1, 3, 224)))
    with pytest.raises(TargetError, match="module targets need --input-shape"):
        resolve(lambda: None)


def test_a_module_object_is_a_module_target():
    torch = pytest.importorskip("torch")
    module = torch.nn.Linear(4, 2)
    target = resolve(module, TargetOptions(input_shape=(3, 4), train=True))
    assert isinstance(target, ModuleTarget) and target.module is module and target.label is None
    assert (target.input_shape, target.train) == ((3, 4), True)


def test_what_only_a_spec_can_do_refuses_a_module_before_importing_it():
    with pytest.raises(ArchlensError, match="^fit needs a spec .* not 'nowhere_at_all:model'"):
        resolve_spec("nowhere_at_all:model", needed_by="fit")
    assert resolve_spec("googlenet", needed_by="fit").spec.name == "googlenet"


@pytest.mark.parametrize("args", [[], SMALL])
def test_profile_check_and_compare_measure_the_same_network(capsys, args):
    expected = ALEX_112 if args else ALEX_224
    profiled = json.loads(run(capsys, "profile", "alexnet-torchvision", *args, "-f", "json")[1])
    assert profiled["totals"]["macs"] == expected
    compared = json.loads(run(capsys, "compare", "alexnet-torchvision", "vgg11", *args, "-f", "json")[1])
    alex, vgg = compared["networks"]
    assert alex["macs"] == expected and alex["input_shape"] == vgg["input_shape"] == profiled["input_shape"]
    assert run(capsys, "check", "alexnet-torchvision", *args, "--max-macs", str(expected))[0] == 0
    assert run(capsys, "check", "alexnet-torchvision", *args, "--max-macs", str(expected - 1))[0] == 1


def test_graph_draws_the_network_on_the_input_shape(tmp_path, capsys):
    out = tmp_path / "alex.dot"
    assert main(["graph", "alexnet-torchvision", *SMALL, "--depth", "1", "-o", str(out)]) == 0
    dot = out.read_text()
    assert "input 1x3x112x112" in dot and "MACs 204.45 M" in dot


def test_report_profiles_every_network_on_the_input_shape(tmp_path, capsys):
    from archlens.report import build_report

    report = build_report(["alexnet-torchvision", "googlenet-torchvision"], input_shape=(1, 3, 112, 112))
    alex, google = report.networks
    assert alex.profile.totals.macs == ALEX_112 and alex.profile.input_shape == (1, 3, 112, 112)
    assert google.profile.input_shape == (1, 3, 112, 112)
    assert report.inception.modules[0].input_shape == (192, 14, 14)  # the study runs on that input too
    out = tmp_path / "small.md"
    assert main(["report", "alexnet-torchvision", *SMALL, "-o", str(out)]) == 0
    assert "204,446,912" in out.read_text()


def test_a_module_name_without_factory_hints_at_the_module_syntax(tmp_path, monkeypatch, capsys):
    """`archlens profile mynets` beside mynets.py said only "unknown network"."""
    from archlens.cli import main

    (tmp_path / "mynets.py").write_text("raise SystemExit('imported!')\n")  # a hint never imports it
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "models.py").write_text("")
    monkeypatch.chdir(tmp_path)
    assert main(["profile", "mynets"]) == 2
    assert capsys.readouterr().err == (
        "archlens: error: unknown network 'mynets'; mynets is a Python module: name the model in it as "
        "mynets:factory (a function or class returning an nn.Module, or an instance) and give --input-shape N,C,H,W\n")
    assert main(["profile", "pkg.models"]) == 2
    assert "pkg.models:factory" in capsys.readouterr().err
    assert main(["profile", "googlenett"]) == 2  # no such module: the name's own hint
    assert "did you mean 'googlenet'?" in capsys.readouterr().err

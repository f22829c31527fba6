"""The CLI as a user runs it: exit codes, one-line errors, byte-identical output."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from archlens.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_list(capsys):
    code, out, _ = run(capsys, "list")
    assert code == 0
    assert "googlenet-torchvision" in out and "vgg19-bn" in out


def test_profile_table_has_totals_and_conventions(capsys):
    code, out, _ = run(capsys, "profile", "googlenet")
    assert code == 0
    assert "inception_3a" in out and "1,582,671,872" in out and "6,998,552" in out
    assert "FLOPs = 2 x MACs" in out
    assert "22 layers with parameters" in out


def test_profile_json_shape(capsys):
    data = json.loads(run(capsys, "profile", "alexnet-torchvision", "-f", "json")[1])
    assert list(data)[:2] == ["name", "engine"]
    assert data["totals"]["params"] == 61_100_840 and data["totals"]["macs"] == 714_188_480
    assert data["layers"][0]["name"] == "conv1.conv"
    depth1 = json.loads(run(capsys, "profile", "alexnet-torchvision", "-f", "json", "--depth", "1")[1])
    assert depth1["layers"][0]["name"] == "conv1" and depth1["totals"] == data["totals"]


def test_profile_train_includes_aux(capsys):
    out = run(capsys, "profile", "googlenet-torchvision", "--train", "-f", "json")[1]
    assert json.loads(out)["totals"]["params"] == 13_004_888


def test_profile_output_file_is_written(tmp_path, capsys):
    target = tmp_path / "deep" / "out.csv"
    code, out, err = run(capsys, "profile", "vgg16", "-f", "csv", "-o", str(target))
    assert code == 0 and out == "" and "wrote" in err
    assert target.read_text().startswith("name,kind,input_shape")


def test_unknown_network_is_one_line_exit_2(capsys):
    code, out, err = run(capsys, "profile", "googlnet")
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [
        "archlens: error: unknown network 'googlnet'; did you mean 'googlenet'? "
        "(`archlens list` shows the built-in networks; a file needs .yaml or .json)"
    ]


def test_validate(tmp_path, capsys):
    good = tmp_path / "good.yaml"
    good.write_text("name: g\nlayers:\n  - conv: {out: 8, kernel: 3}\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: b\nlayers:\n  - conv: {out: 8, kernel: 3, strid: 1}\n  - conv: {out: -1, kernel: 3}\n")
    code, out, _ = run(capsys, "validate", str(good))
    assert code == 0 and "ok" in out
    code, out, err = run(capsys, "validate", str(good), str(bad))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith(f"archlens: error: {bad}:") for line in lines)


def test_show_round_trips(tmp_path, capsys):
    code, out, _ = run(capsys, "show", "vgg11")
    assert code == 0 and "- vgg_stage:" not in out and "- sequence:" in out and "stage1" in out
    path = tmp_path / "shown.yaml"
    path.write_text(out)
    a = run(capsys, "profile", str(path), "-f", "json")[1]
    b = run(capsys, "profile", "vgg11", "-f", "json")[1]
    assert json.loads(a)["totals"] == json.loads(b)["totals"]


def test_debug_shows_traceback(capsys):
    code, _, err = run(capsys, "profile", "googlnet", "--debug")
    assert code == 2 and "Traceback" in err


def test_usage_error_exit_2(capsys):
    code, _, err = run(capsys, "profile", "googlenet", "--format", "xml")
    assert code == 2 and "xml" in err


@pytest.mark.parametrize("command", [
    [sys.executable, "-m", "archlens", "list"],
    [sys.executable, str(ROOT / "cli.py"), "list"],
])
def test_entry_points(command):
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0 and "googlenet" in result.stdout


def test_profile_never_imports_torch_or_pandas():
    code = (
        "import sys; from archlens.cli import main; main(['profile', 'googlenet', '-o', '/dev/null']);"
        "print(sorted(m for m in ('torch', 'pandas', 'plotly') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_show_keeps_aux_heads_so_training_mode_round_trips(tmp_path, capsys):
    code, out, _ = run(capsys, "show", "googlenet-torchvision")
    assert code == 0 and out.count("- aux:") == 2
    path = tmp_path / "shown.yaml"
    path.write_text(out)
    data = json.loads(run(capsys, "profile", str(path), "--train", "-f", "json")[1])
    assert data["totals"]["params"] == 13_004_888


@pytest.mark.parametrize("args", [
    ["profile", "googlenet", "--input-shape", "2,3,224,224", "--batch", "4"],
    ["profile", "googlenet", "--paper", "--input-shape", "1,3,256,256"],
    ["profile", "googlenet", "--paper", "--train"],
])
def test_conflicting_options_are_one_line_exit_2(capsys, args):
    code, out, err = run(capsys, *args)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("args, suffix, starts", [
    (["profile", "vgg11"], ".csv", "name,kind,input_shape"),
    (["profile", "vgg11"], ".json", "{"),
    (["profile", "vgg11"], ".md", "### vgg11"),
    (["compare", "googlenet", "alexnet"], ".json", "{"),
    (["check", "googlenet", "--max-macs", "2G"], ".csv", "scope,pattern,quantity"),
])
def test_output_suffix_picks_the_format(tmp_path, capsys, args, suffix, starts):
    target = tmp_path / f"out{suffix}"
    assert main([*args, "-o", str(target)]) == 0
    assert target.read_text().startswith(starts)
    explicit = tmp_path / "explicit.json"
    assert main([*args, "-f", "table", "-o", str(explicit)]) == 0  # an explicit --format wins
    assert not explicit.read_text().startswith("{")


def test_dash_output_means_stdout(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "profile", "vgg11", "-f", "json", "-o", "-")
    assert code == 0 and json.loads(out)["name"] == "vgg11" and not (tmp_path / "-").exists()


def test_graph_depth_zero_means_every_layer_as_in_profile(tmp_path, capsys):
    every, zero = tmp_path / "every.dot", tmp_path / "zero.dot"
    assert main(["graph", "alexnet", "-o", str(every)]) == 0
    assert main(["graph", "alexnet", "--depth", "0", "-o", str(zero)]) == 0
    assert every.read_bytes() == zero.read_bytes()

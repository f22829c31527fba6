"""The analysis commands as a user runs them: readable tables, stable bytes, exit codes 0, 1, 2."""

import json
import subprocess
import sys

import pytest

from archlens.cli import main


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_compare_table(capsys):
    code, out, _ = run(capsys, "compare", "googlenet", "googlenet-naive", "alexnet", "vgg16")
    assert code == 0
    assert "97,526,008" in out and "15,470,264,320" in out and "8.71x" in out and "22 / 27" in out


def test_compare_csv_and_json(capsys):
    out = run(capsys, "compare", "googlenet", "alexnet", "-f", "csv")[1]
    assert out.splitlines()[0].startswith("name,input_shape,params")
    data = json.loads(run(capsys, "compare", "googlenet", "alexnet", "-f", "json")[1])
    assert data["baseline"] == "googlenet" and data["networks"][1]["params"] == 60_965_224


def test_inception_tables(capsys):
    code, out, _ = run(capsys, "inception")
    assert code == 0
    assert "303,464,448" in out and "128,049,152" in out and "12,568,061,056" in out
    assert "4944" in out  # naive 5b's output channels


def test_claims_table(capsys):
    out = run(capsys, "claims")[1]
    assert "does not hold (-27.4 %)" in out and "holds within 5.5 %" in out and "8.71x" in out


def test_check_exit_codes(capsys):
    assert run(capsys, "check", "googlenet", "--max-macs", "1.6G")[0] == 0
    code, out, _ = run(capsys, "check", "googlenet", "--max-macs", "1.5G")
    assert code == 1 and "OVER" in out
    code, _, err = run(capsys, "check", "googlenet", "--max-macs", "1.5Q")
    assert code == 2 and "unknown unit" in err
    assert run(capsys, "check", "googlenet")[0] == 2  # no budget at all
    assert run(capsys, "check", "nosuchnet", "--max-macs", "1G")[0] == 2
    assert run(capsys, "check", "googlenet", "--block", "inception_*")[0] == 2


def test_check_json_for_ci(capsys):
    code, out, _ = run(capsys, "check", "googlenet", "--max-params", "7M", "-f", "json")
    data = json.loads(out)
    assert code == 0 and data["ok"] is True and data["checks"][0]["margin"] == 1_448


def test_fit_then_check(capsys, tmp_path):
    target = tmp_path / "fitted.yaml"
    code, _, err = run(capsys, "fit", "googlenet", "--max-macs", "1.5G", "-o", str(target))
    assert code == 0 and "x0.968" in err
    assert target.read_text().startswith("# googlenet: the largest variant")
    assert run(capsys, "check", str(target))[0] == 0  # the spec's own budget: section
    assert run(capsys, "check", str(target), "--max-macs", "1.4G")[0] == 1
    assert run(capsys, "fit", "googlenet", "--max-depth", "10")[0] == 1  # even the narrowest is too deep
    assert run(capsys, "fit", "googlenet", "--max-macs", "1G", "--vary", "depth")[0] == 2


def test_analysis_commands_never_import_torch_or_pandas():
    code = (
        "import sys; from archlens.cli import main;"
        "[main(args + ['-o', '/dev/null']) for args in (['compare', 'googlenet', 'alexnet'], ['inception'],"
        " ['claims'], ['check', 'googlenet', '--max-macs', '2G'], ['fit', 'googlenet', '--max-macs', '1G'])];"
        "print(sorted(m for m in ('torch', 'pandas', 'plotly') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip().splitlines()[-1] == "[]"

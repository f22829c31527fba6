"""A training step on the command line: ``profile --step train``, ``check --max-train-*``, ``compare --step
train``, and their errors (one line, exit 2).

ResNet-50 at batch 32 (every figure by hand): 25,557,032 parameters in 161 tensors (53 convolution weights,
53 BatchNorms' weight and bias, the fc's weight and bias); forward 32 x 4,089,184,256 = 130,853,896,192 MACs;
backward twice that but for conv1's input gradient (the input needs none): 130,853,896,192 x 2 -
32 x 118,013,952 = 257,931,345,920.
"""

import csv
import io
import json

import pytest

from archlens.cli import main

PARAMS, TENSORS = 25_557_032, 161
FORWARD, BACKWARD = 130_853_896_192, 257_931_345_920


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_profile_step_train_json_has_the_backward_and_the_memory_parts(capsys):
    code, out, _ = run(capsys, "profile", "resnet50", "--batch", "32", "--step", "train", "--optimizer", "adam",
                       "-f", "json")
    assert code == 0
    data = json.loads(out)
    assert data["totals"]["macs"] == FORWARD and data["totals"]["backward_macs"] == BACKWARD
    training = data["training"]
    assert training["optimizer"] == "adam" and training["optimizer_ops"] == 13 * PARAMS
    assert training["params"] == training["grads"] == 4 * PARAMS
    # Adam: exp_avg and exp_avg_sq a parameter, and a float32 step counter a parameter tensor
    assert training["optimizer_state"] == 2 * 4 * PARAMS + 4 * TENSORS
    assert training["peak"] == (training["params"] + training["grads"] + training["optimizer_state"]
                                + training["saved_activations"] + training["backward_transient"])


def test_profile_step_train_csv_has_the_training_columns(capsys):
    code, out, _ = run(capsys, "profile", "resnet18", "--step", "train", "--optimizer", "sgd", "-f", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {"backward_macs", "optimizer_ops", "saved_bytes"} <= set(rows[0])
    first = rows[0]  # conv1.conv on the input: its weight's gradient only, as many products as its forward
    assert first["name"] == "conv1.conv" and first["backward_macs"] == first["macs"] == "118013952"
    assert first["optimizer_ops"] == str(2 * 64 * 3 * 7 * 7)  # SGD: 2 a parameter, 9,408 weights


def test_mixed_precision_keeps_fp32_master_weights(capsys):
    code, out, _ = run(capsys, "profile", "resnet50", "--step", "train", "--dtype", "bfloat16", "--mixed-precision",
                       "-f", "json")
    assert code == 0
    training = json.loads(out)["training"]
    # bfloat16 weights and gradients (2 + 2 bytes); AdamW's two states and the master copy in fp32 (12), and
    # the step counters
    assert training["params"] == training["grads"] == 2 * PARAMS
    assert training["optimizer_state"] == 12 * PARAMS + 4 * TENSORS


@pytest.mark.parametrize("args, message", [
    (["profile", "resnet18", "--step", "train", "--freeze", "nomatch*"], "--freeze 'nomatch*' names no layer"),
    (["profile", "gpt2", "--step", "train", "--decode", "3"], "a training step has no decoding step"),
    (["profile", "resnet18", "--step", "train", "-e", "fvcore"], "the fvcore engine counts inference only"),
    (["profile", "resnet18", "--step", "train", "--mixed-precision"], "mixed precision computes in a 16-bit dtype, "
                                                                       "not float32"),
    (["profile", "resnet18", "--optimizer", "sgd"], "--optimizer applies to a training step"),
    (["profile", "resnet18", "--checkpoint", "layer1"], "--checkpoint applies to a training step"),
    (["check", "resnet18", "--max-train-memory", "3G", "--max-train-macs", "2GiB"], "max_train_macs '2GiB' is in bytes"),
])
def test_errors_are_one_line_and_exit_2(capsys, args, message):
    code, out, err = run(capsys, *args)
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_check_holds_a_training_step_to_its_peak_memory_and_macs(capsys):
    code, out, _ = run(capsys, "check", "resnet50", "--batch", "32", "--max-train-memory", "24GiB",
                       "--max-train-macs", "400G", "-f", "json")
    assert code == 0
    checks = {item["quantity"]: item for item in json.loads(out)["checks"]}
    assert checks["train_macs"]["measured"] == FORWARD + BACKWARD and checks["train_memory"]["limit"] == 24 * 2**30
    code, out, _ = run(capsys, "check", "resnet50", "--batch", "32", "--max-train-macs", "300G")
    assert code == 1 and "OVER" in out and "training-step MACs" in out


def test_compare_step_train_shows_backward_macs_and_memory(capsys):
    code, out, _ = run(capsys, "compare", "resnet18", "resnet50", "--batch", "32", "--step", "train", "-f", "json")
    assert code == 0
    data = json.loads(out)
    assert data["optimizer"] == "adamw"
    resnet50 = data["networks"][1]
    assert resnet50["backward_macs"] == BACKWARD and resnet50["train_macs"] == FORWARD + BACKWARD
    code, out, _ = run(capsys, "compare", "resnet18", "resnet50")
    assert code == 0 and "Backward MACs" not in out  # inference: as before


def test_fit_finds_the_widest_variant_within_a_training_memory_budget(capsys):
    code, out, err = run(capsys, "fit", "resnet18", "--batch", "8", "--max-train-memory", "256MiB", "-f", "json")
    assert code == 0
    data = json.loads(out)
    check = data["check"]["checks"][0]
    assert check["quantity"] == "train_memory" and check["measured"] <= check["limit"] == 256 * 2**20
    assert data["spec"]["budget"]["max_train_memory"] == 256 * 2**20  # the fitted spec carries its budget
    assert "training-step peak memory" in err


def test_a_spec_budget_on_a_training_step_implies_one():
    import archlens

    spec = {"name": "two-linears", "input": {"features": 16}, "layers": [{"linear": {"out": 32}}, {"linear": {"out": 8}}],
            "budget": {"max_train_memory": 10_000}}
    report = archlens.check(spec, batch=4)
    # parameters 16 x 32 + 32 + 32 x 8 + 8 = 808, AdamW at float32: weights, gradients (4 + 4 bytes) and two
    # states (8 bytes) a parameter, four step counters (16 bytes); saved: each linear's input for its weight's
    # gradient, 4 x 16 x 4 + 4 x 32 x 4 = 256 + 512 bytes (autograd keeps the network's input too); the
    # largest transient: the second linear's output and input gradients, (4 x 8 + 4 x 32) x 4 = 640 bytes
    assert report.checks[0].measured == 808 * 16 + 16 + 256 + 512 + 640


def test_the_html_report_shows_the_training_step(tmp_path, capsys):
    page = tmp_path / "r.html"
    code, _, _ = run(capsys, "report", "resnet18", "resnet50", "--step", "train", "--optimizer", "sgd", "-o", str(page))
    assert code == 0
    html = page.read_text(encoding="utf-8")
    # resnet18 at batch 1: twice torchvision's 1,814,073,344 MACs but conv1's input gradient (118,013,952)
    assert "3,510,132,736; the step" in html and "Training peak memory" in html and "training step (SGD)" in html
    assert "backward MACs</th>" in html  # the comparison's columns


def test_a_pattern_that_names_no_module_is_an_error_for_a_module_target_too():
    import archlens
    from archlens.errors import ArchlensError

    torch = pytest.importorskip("torch")
    module = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    with pytest.raises(ArchlensError, match=r"--freeze 'conv\*' names no layer; top-level layers: 0, 1, 2"):
        archlens.profile(module, input_shape=(2, 4), step="train", freeze="conv*")
    frozen = archlens.profile(module, input_shape=(2, 4), step="train", freeze="0")
    assert frozen.step.trainable == 4 * 2 + 2  # the second linear's weight and bias


def test_what_a_check_and_a_comparison_measured_is_said(capsys):
    """A CI artifact names the step's options: check and compare said only the optimizer, or nothing."""
    code, out, _ = run(capsys, "check", "resnet18", "--max-train-memory", "1GiB", "--freeze", "conv1",
                       "--checkpoint", "layer1", "--optimizer", "sgd", "-f", "json")
    assert code == 0
    assert json.loads(out)["training"] == {"optimizer": "sgd", "mixed_precision": False, "freeze": ["conv1"],
                                           "checkpoint": ["layer1"]}
    code, out, _ = run(capsys, "check", "resnet18", "--max-train-memory", "1GiB", "--freeze", "conv1")
    assert "Measured on a training step: AdamW, frozen conv1" in out
    code, out, _ = run(capsys, "compare", "resnet18", "resnet34", "--step", "train", "--freeze", "conv1")
    assert out.splitlines()[0] == ("Compared with resnet18 (training step, AdamW, frozen conv1; ratios are network "
                                   "/ resnet18)")


def test_recomputed_macs_have_their_own_column_as_in_json(capsys):
    """The table's backward column held the recomputed forward too; JSON, CSV, compare and the report's
    cards do not. ResNet-18's layer1 by hand: 4 convolutions of 64 x 64 x 3 x 3 on 56 x 56, 115,605,504
    MACs each, 462,422,016 in all, run again in the backward pass."""
    code, out, _ = run(capsys, "profile", "resnet18", "--step", "train", "--checkpoint", "layer1", "--depth", "1",
                       "-f", "json")
    layer1 = next(layer for layer in json.loads(out)["layers"] if layer["name"] == "layer1")
    assert layer1["recompute_macs"] == 4 * 64 * 64 * 9 * 56 * 56 == 462_422_016
    code, out, _ = run(capsys, "profile", "resnet18", "--step", "train", "--checkpoint", "layer1")
    header = out.splitlines()[2].split()
    assert header[5:10] == ["Forward", "MACs", "Backward", "MACs", "Recomputed"]
    row = next(line.split() for line in out.splitlines() if line.split()[:1] == ["layer1"])
    assert row[5:7] == [f"{layer1['backward_macs']:,}", "462,422,016"]
    code, out, _ = run(capsys, "profile", "resnet18", "--step", "train")
    assert "Recomputed" not in out  # no checkpointing: no such column


@pytest.mark.parametrize("args, message", [
    (["fit", "resnet18", "--max-train-memory", "200MiB", "--mixed-precision"],
     "mixed precision computes in a 16-bit dtype, not float32"),
    (["fit", "resnet18", "--max-macs", "1G", "--optimizer", "sgd"],
     "--optimizer applies to a training step; give --max-train-macs or --max-train-memory"),
    (["profile", "googlenet", "--step", "train", "--paper"], "--paper compares Table 1 with the spec as published"),
    (["profile", "googlenet", "--paper", "--freeze", "nomatch*"], "--paper compares Table 1"),
])
def test_training_options_that_cannot_apply_are_refused(capsys, args, message):
    code, out, err = run(capsys, *args)
    assert (code, out) == (2, "") and len(err.splitlines()) == 1 and message in err


def test_compare_report_and_fit_take_the_dtype_mixed_precision_needs(capsys, tmp_path):
    """bfloat16 with fp32 master weights: 2 + 2 bytes a parameter for weights and gradients, 12 for AdamW's
    states and the master copy (resnet18: 11,689,512 parameters in 62 tensors)."""
    code, out, _ = run(capsys, "compare", "resnet18", "resnet34", "--step", "train", "--dtype", "bfloat16",
                       "--mixed-precision", "-f", "json")
    assert code == 0
    assert json.loads(out)["training"]["mixed_precision"] is True
    code, _, _ = run(capsys, "report", "resnet18", "--step", "train", "--dtype", "bfloat16", "--mixed-precision",
                     "-o", str(tmp_path / "r.md"))
    assert code == 0
    params = 11_689_512
    assert f"optimizer state {round((12 * params + 4 * 62) / 2**20, 2)} MiB" in (tmp_path / "r.md").read_text()
    code, out, err = run(capsys, "fit", "resnet18", "--max-train-memory", "200MiB", "--dtype", "bfloat16",
                         "--mixed-precision")
    assert code == 0 and "resnet18-w" in err

"""benchmarks/transformer_speed.py runs (--smoke: the analytic engine at scale, vit-b-16 side by side
once), and counts GPT-3 and the 1-trillion-parameter design exactly. No timing is asserted: the README's
figures come from the full run."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "transformer_speed.py"


@pytest.mark.slow
def test_smoke_run_counts_exactly(capsys):
    spec = importlib.util.spec_from_file_location("transformer_speed", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    data = module.main(["--smoke"])
    gpt3, trillion = data["scale"]["gpt3-175b"]["analytic"], data["scale"]["transformer-1t"]["analytic"]
    assert (gpt3["params"], gpt3["macs"]) == (174_604_259_328, 366_137_372_049_408)
    assert gpt3["records"] == 1156 and gpt3["distinct"] < 25
    assert trillion["params"] == 1_008_038_758_400 and trillion["distinct"] < 25
    assert data["vit"]["macs"] == 17_563_828_224
    assert [row["target"].split()[0] for row in data["targets"]] == ["gpt3-175b", "transformer-1t", "vit-b-16"]
    assert "| target | measured | met |" in capsys.readouterr().out

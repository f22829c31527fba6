"""benchmarks/training_speed.py --quick runs end to end, so it cannot rot. Timings are never asserted."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_training_speed_quick_runs_and_both_counters_agree():
    child = subprocess.run([sys.executable, "benchmarks/training_speed.py", "--quick"], cwd=ROOT,
                           capture_output=True, text=True, timeout=300)
    assert child.returncode == 0, child.stderr[-2000:]
    table, _, data = child.stdout.partition("\n{")
    assert "| analytic training-step profile of resnet50" in table and "FlopCounterMode" in table
    result = json.loads("{" + data)["result"]
    assert result["median_s"] > 0 and result["flop_counter_median_s"] > 0
    # forward: 32 x torchvision's 4,089,184,256; backward: twice the forward, but conv1 (on the input, which
    # needs no gradient) computes its weight's gradient only: 2 x 130,853,896,192 - 32 x 118,013,952
    assert result["archlens_forward_macs"] == result["flop_counter_forward_macs"] == 32 * 4_089_184_256
    assert result["archlens_backward_macs"] == result["flop_counter_backward_macs"] \
        == 2 * 32 * 4_089_184_256 - 32 * 118_013_952

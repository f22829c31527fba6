"""benchmarks/profile_speed.py --quick runs end to end, so it cannot rot. Timings are never asserted."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_profile_speed_quick_runs_and_both_counters_agree():
    child = subprocess.run([sys.executable, "benchmarks/profile_speed.py", "--quick"], cwd=ROOT,
                           capture_output=True, text=True, timeout=300)
    assert child.returncode == 0, child.stderr[-2000:]
    table, _, data = child.stdout.partition("\n{")
    assert "| torch engine, GoogLeNet on meta" in table and "FlopCounterMode" in table
    results = json.loads("{" + data)["results"]
    assert all(r["median_s"] > 0 for r in results) and len(results) == 5
    # the analytic engine, the torch engine and FlopCounterMode count the same MACs: GoogLeNet's 1.58
    # billion (the paper's), ResNet-50's 4.09 billion (torchvision's)
    assert results[0]["archlens_macs"] == results[0]["flop_counter_macs"] == 1_582_671_872
    assert results[1]["archlens_macs"] == results[1]["flop_counter_macs"] == 4_089_184_256
    assert results[-1]["archlens_macs"] == results[-1]["flop_counter_macs"] == 1_582_671_872

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
    assert [r["median_s"] > 0 for r in results] == [True, True, True]
    # the torch engine and FlopCounterMode count GoogLeNet's MACs alike: the paper's 1.58 billion
    assert results[2]["archlens_macs"] == results[2]["flop_counter_macs"] == 1_582_671_872

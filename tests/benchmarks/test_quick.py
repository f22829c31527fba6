"""The benchmark runs end to end in its smoke mode, so it cannot rot. Timings are never asserted.

The smoke mode runs every peer once on the smallest networks (in one child process) and the analytic
engine on one scale spec; `python benchmarks/run.py --quick` (and the full run) add the side-by-side
and startup timings on top of the same code.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ("archlens_analytic", "archlens_torch", "fvcore", "flop_counter", "ptflops_pytorch", "ptflops_aten",
         "thop", "torchinfo")


@pytest.mark.slow
def test_smoke_benchmark_runs_and_every_tool_reports(tmp_path):
    out = tmp_path / "smoke.json"
    child = subprocess.run([sys.executable, "benchmarks/run.py", "--smoke", "--json", str(out)],
                           cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert child.returncode == 0, child.stderr[-2000:]
    data = json.loads(out.read_text())
    assert data["mode"] == "smoke"
    assert set(data["peers"]) == {"tiny-inception", "attention"}
    for network, results in data["peers"].items():
        assert set(results) == set(TOOLS), network
        for tool, result in results.items():
            if tool == "archlens_analytic" and network == "attention":
                assert result["not_applicable"]
                continue
            assert result["ok"], (network, tool, result.get("error"))
            assert result["runs"] >= 1 and result["median_s"] > 0 and result["peak_rss_bytes"] > 0
            # every peer's figure is rebuilt exactly from archlens's columns with its convention
            assert result["explained"], (network, tool, result["count"], result["predicted"])
        # archlens agrees with itself, and on the attention module with the count written out by hand
        assert results["archlens_torch"]["agrees"]
    assert [row["spec"] for row in data["scale"]] == ["scale/linear-1b"]
    assert data["scale"][0]["tools"]["archlens_analytic"]["median_s"] > 0
    assert data["paired"] == {} and data["startup"] == {}
    assert "**tiny-inception**" in child.stdout  # the README block renders from the smoke data too

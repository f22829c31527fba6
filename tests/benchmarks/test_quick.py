"""The benchmark's quick mode runs end to end, so it cannot rot. Timings are never asserted."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ("archlens_analytic", "archlens_torch", "fvcore", "flop_counter", "ptflops_pytorch", "ptflops_aten",
         "thop", "torchinfo")


def test_quick_benchmark_runs_and_every_tool_reports(tmp_path):
    out = tmp_path / "quick.json"
    child = subprocess.run([sys.executable, "benchmarks/run.py", "--quick", "--json", str(out)],
                           cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert child.returncode == 0, child.stderr[-2000:]
    data = json.loads(out.read_text())
    assert data["mode"] == "quick"
    assert set(data["peers"]) == {"tiny-inception", "attention"}
    for network, results in data["peers"].items():
        assert set(results) == set(TOOLS), network
        for tool, result in results.items():
            if tool == "archlens_analytic" and network == "attention":
                assert result["not_applicable"]
                continue
            assert result["ok"], (network, tool, result.get("error"))
            assert result["runs"] >= 2 and result["median_s"] > 0 and result["peak_rss_bytes"] > 0
            # every peer's figure is rebuilt exactly from archlens's columns with its convention
            assert result["explained"], (network, tool, result["count"], result["predicted"])
        # archlens agrees with itself, and on the attention module with the count written out by hand
        assert results["archlens_torch"]["agrees"]
    assert data["scale"] and all(row["tools"]["archlens_analytic"]["median_s"] > 0 for row in data["scale"])
    assert len(data["startup"]) == 3 and data["targets"]

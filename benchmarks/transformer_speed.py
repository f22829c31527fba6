"""Transformers at scale, side by side in one run: the speed targets of the README's "Transformers"
section.

    python benchmarks/transformer_speed.py           # full run (a few minutes: FlopCounterMode builds 1 T)
    python benchmarks/transformer_speed.py --quick   # fewer repetitions
    python benchmarks/transformer_speed.py --smoke   # one of each, no FlopCounterMode at scale (the test)

1. **GPT-3 175B** (the built-in ``gpt3-175b``, 2048 tokens) and a **1-trillion-parameter design**
   (``benchmarks/specs/scale/transformer-1t.yaml``: Megatron-LM's 1008 B configuration): each tool in
   a fresh process of its own, so its peak RSS is its own (Python and its imports included):

   * archlens analytic: the spec read and validated, the first profile (the spec's expansion), then
     the median of repeated profiles of the loaded spec (``archlens.profile``: the records, the
     totals and the top-level table a ``profile`` command shows). Targets: under 10 ms, under 100 MB.
   * torch's ``FlopCounterMode`` on the module built on the meta device (no weights): the build, then
     one forward counted; and archlens's torch engine on the same module.
   * ``archlens profile NAME`` from a cold shell, wall clock (import, read, profile, print).

2. **vit-b-16**: the analytic profile and ``FlopCounterMode`` on the meta-built module, interleaved in
   one process (21 rounds; the ratio is the median of the per-round ratios, so the machine's load hits
   both alike). Target: the analytic engine at least 100x faster.

Prints a Markdown table and writes the figures to ``benchmarks/transformer_results.json``. Nothing here
is a test: timings vary by machine (``tests/benchmarks`` runs ``--smoke`` so the script cannot rot).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SPECS = Path(__file__).resolve().parent / "specs"
RESULTS = Path(__file__).resolve().parent / "transformer_results.json"
BIG = {"gpt3-175b": "gpt3-175b", "transformer-1t": str(SPECS / "scale" / "transformer-1t.yaml")}
TARGET_SECONDS, TARGET_MB, TARGET_RATIO = 0.010, 100.0, 100.0

CHILD = r'''
import json, resource, statistics, sys, time
target, tool, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
start = time.perf_counter()
out = {}
if tool == "analytic":
    import archlens
    spec = archlens.load_spec(target)
    out["load_s"] = time.perf_counter() - start
    def profile():
        result = archlens.profile(spec)
        result.totals, result.rollup(1)
        return result
    began = time.perf_counter()
    result = profile()
    out["first_s"] = time.perf_counter() - began
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        profile()
        times.append(time.perf_counter() - began)
    out.update(median_s=statistics.median(times), min_s=min(times), max_s=max(times), runs=runs,
               params=result.totals.params, macs=result.totals.macs, records=len(result.layers),
               distinct=getattr(result.layers, "distinct", lambda: len(result.layers))())
else:
    import torch
    import archlens
    from archlens.profiler import spec_inputs
    spec = archlens.load_spec(target)
    began = time.perf_counter()
    module = archlens.build(spec, device="meta")
    out["build_s"] = time.perf_counter() - began
    inputs = spec_inputs(spec)
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        if tool == "flop_counter":
            from torch.utils.flop_counter import FlopCounterMode
            x = torch.empty(inputs["inputs"].shape, dtype=torch.long, device="meta") if "inputs" in inputs else \
                torch.empty(inputs["input_shape"], device="meta")
            counter = FlopCounterMode(display=False)
            with counter, torch.no_grad():
                module(x)
            macs = counter.get_total_flops() // 2
        else:
            from archlens.counting.torch_engine import profile_module
            macs = profile_module(module, **inputs).totals.macs
        times.append(time.perf_counter() - began)
    out.update(median_s=statistics.median(times), min_s=min(times), max_s=max(times), runs=runs, macs=macs,
               params=sum(p.numel() for p in module.parameters()))
out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out["process_s"] = time.perf_counter() - start
print(json.dumps(out))
'''


def child(target: str, tool: str, runs: int, timeout: int = 900) -> dict:
    """One tool on one target in a fresh process; its figures, or why it could not run."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    try:
        done = subprocess.run([sys.executable, "-c", CHILD, target, tool, str(runs)], capture_output=True, text=True,
                              timeout=timeout, env=env, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish in {timeout} s"}
    if done.returncode:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        return {"error": last[:200]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def cold_cli(target: str, runs: int) -> dict:
    from profile_speed import cold_cli_times

    times, _ = cold_cli_times(target, runs)
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times), "runs": runs}


def vit_side_by_side(rounds: int) -> dict:
    """The analytic engine and FlopCounterMode on vit-b-16, interleaved in this process."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    import archlens

    spec = archlens.load_spec("vit-b-16")
    module = archlens.build(spec, device="meta")
    x = torch.empty(1, 3, 224, 224, device="meta")

    def analytic():
        result = archlens.profile(spec)
        result.totals, result.rollup(1)
        return result.totals.macs

    def flop_counter():
        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            module(x)
        return counter.get_total_flops() // 2

    ours, theirs = analytic(), flop_counter()  # warm-up, and the same count
    assert ours == theirs == 17_563_828_224, (ours, theirs)
    times = {"analytic": [], "flop_counter": []}
    ratios = []
    for _ in range(rounds):
        round_times = {}
        for name, function in (("analytic", analytic), ("flop_counter", flop_counter)):
            began = time.perf_counter()
            function()
            round_times[name] = time.perf_counter() - began
            times[name].append(round_times[name])
        ratios.append(round_times["flop_counter"] / round_times["analytic"])
    return {"rounds": rounds, "macs": ours, "ratio": statistics.median(ratios), "ratio_min": min(ratios),
            **{f"{name}_median_s": statistics.median(values) for name, values in times.items()}}


def seconds(value: float) -> str:
    if value < 1e-3:
        return f"{value * 1e6:.0f} µs"
    if value < 1:
        return f"{value * 1e3:.1f} ms"
    return f"{value:.2f} s"


def table(data: dict) -> str:
    lines = [f"Measured on {data['machine']} (load average {data['load'][0]:.1f} at the start, "
             f"{data['load_end'][0]:.1f} at the end), {data['date']}.", "",
             "**Targets**", "", "| target | measured | met |", "|---|---|---|"]
    for row in data["targets"]:
        lines.append(f"| {row['target']} | {row['measured']} | {'yes' if row['met'] else '**no**'} |")
    lines += ["", "**Scale** (each tool in its own fresh process; peak RSS: that whole process)", "",
              "| design | params | records (distinct) | archlens analytic: profile (first) | peak RSS | "
              "`archlens profile`, cold | FlopCounterMode on meta: build + count | peak RSS | "
              "archlens torch engine on meta | peak RSS |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, row in data["scale"].items():
        analytic, flop, engine = row["analytic"], row.get("flop_counter", {}), row.get("torch_engine", {})

        def tool(result, key="median_s"):
            if not result:
                return "not run", ""
            if "error" in result:
                return f"cannot run: {result['error']}", ""
            text = seconds(result[key])
            if "build_s" in result:
                text = f"{seconds(result['build_s'])} + {text}"
            return text, f"{result['rss_mb']:.0f} MB"

        flop_time, flop_rss = tool(flop)
        engine_time, engine_rss = tool(engine)
        cli = row.get("cli")
        lines.append(f"| `{name}` | {analytic['params'] / 1e9:,.1f} B | {analytic['records']:,} "
                     f"({analytic['distinct']}) | {seconds(analytic['median_s'])} ({seconds(analytic['first_s'])}) | "
                     f"{analytic['rss_mb']:.0f} MB | {seconds(cli['median_s']) if cli else 'not run'} | "
                     f"{flop_time} | {flop_rss} | {engine_time} | {engine_rss} |")
    vit = data["vit"]
    lines += ["", f"**vit-b-16**, side by side in one process ({vit['rounds']} rounds, "
              f"{vit['macs']:,} MACs both): analytic {seconds(vit['analytic_median_s'])}, FlopCounterMode on the "
              f"meta module {seconds(vit['flop_counter_median_s'])}: {vit['ratio']:.0f}x (lowest round "
              f"{vit['ratio_min']:.0f}x)."]
    return "\n".join(lines)


def targets(data: dict) -> list[dict]:
    rows = []
    for name, row in data["scale"].items():
        analytic = row["analytic"]
        met = analytic["median_s"] < TARGET_SECONDS and analytic["rss_mb"] < TARGET_MB
        rows.append({"target": f"{name} analytic profile < 10 ms and < 100 MB peak RSS",
                     "measured": f"{seconds(analytic['median_s'])} (first {seconds(analytic['first_s'])}), "
                                 f"{analytic['rss_mb']:.0f} MB", "met": met})
    vit = data["vit"]
    rows.append({"target": "vit-b-16 analytic >= 100x faster than FlopCounterMode on the meta module",
                 "measured": f"{vit['ratio']:.0f}x ({seconds(vit['analytic_median_s'])} vs "
                             f"{seconds(vit['flop_counter_median_s'])})", "met": vit["ratio"] >= TARGET_RATIO})
    return rows


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--smoke", action="store_true", help="one of each, the analytic engine only at scale")
    parser.add_argument("--output", type=Path, default=None, help=f"JSON file (default {RESULTS.name}; "
                                                                    "--quick and --smoke write none)")
    args = parser.parse_args(argv)
    runs, rounds, peer_runs, cli_runs = (1, 2, 1, 0) if args.smoke else (21, 7, 1, 3) if args.quick else \
        (101, 21, 3, 7)
    data = {"machine": f"{os.cpu_count()} cores ({platform.machine()}), Python {platform.python_version()}",
            "load": os.getloadavg(), "date": time.strftime("%Y-%m-%d"), "scale": {}}
    # no torch in this process before the children run: a forked child would inherit its peak RSS
    for name, target in BIG.items():
        row = {"analytic": child(target, "analytic", runs)}
        if "error" in row["analytic"]:
            raise SystemExit(f"{name}: the analytic engine failed: {row['analytic']['error']}")
        if not args.smoke:
            row["cli"] = cold_cli(target, cli_runs)
            row["flop_counter"] = child(target, "flop_counter", peer_runs)
            row["torch_engine"] = child(target, "torch_engine", peer_runs)
        data["scale"][name] = row
    data["vit"] = vit_side_by_side(rounds)
    import torch

    data["machine"] += f", torch {torch.__version__}"
    data["load_end"] = os.getloadavg()
    data["targets"] = targets(data)
    print(table(data))
    output = args.output or (None if args.quick or args.smoke else RESULTS)
    if output is not None:
        output.write_text(json.dumps(data, indent=2) + "\n")
    return data


if __name__ == "__main__":
    main()

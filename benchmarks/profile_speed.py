"""How fast archlens profiles: the speed targets of the README's "Speed" section, measured in one run.

    python benchmarks/profile_speed.py           # full run
    python benchmarks/profile_speed.py --quick   # fewer repetitions (CI smoke run)

Four measurements, each a median of repeated runs:

1. the analytic engine on GoogLeNet and ResNet-50, in-process (``archlens.profile(name)``; target
   < 1 ms each), interleaved with FlopCounterMode counting the same network built on the meta
   device, so the ratio is taken side by side;
2. ``archlens profile googlenet`` and ``archlens profile resnet50`` from a cold shell: a fresh
   process each time, wall clock (target < 0.5 s; the analytic path never imports torch, pandas or
   plotly);
3. the torch engine on the built GoogLeNet (meta device) against PyTorch's own
   ``torch.utils.flop_counter.FlopCounterMode`` on the same module, interleaved in one run, with
   the ratio (target: archlens no slower). Both count the same MACs; the script checks that too.

Prints a Markdown table, then the figures as JSON. Nothing here is a test: timings vary by machine.
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


def median_seconds(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def analytic_in_process(name: str, repeat: int, rounds: int) -> dict:
    """archlens's analytic profile of ``name`` and FlopCounterMode on the meta-built module, in rounds
    that alternate the two (each round a median of ``repeat`` analytic runs and one FlopCounterMode run)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    import archlens

    archlens.profile(name)  # first call: imports and reads the spec file
    network = archlens.build(name, device="meta")
    shape = archlens.profile(name).input_shape

    def theirs():
        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            network(torch.empty(shape, device="meta"))
        return counter.get_total_flops() // 2

    macs = theirs()
    ours_times, theirs_times = [], []
    for _ in range(rounds):
        ours_times.append(median_seconds(lambda: archlens.profile(name), repeat))
        theirs_times.append(median_seconds(theirs, 1))
    ours_s, theirs_s = statistics.median(ours_times), statistics.median(theirs_times)
    return {"what": f"analytic profile of {name}, in-process", "network": name, "median_s": ours_s,
            "target_s": 0.001, "runs": repeat * rounds, "flop_counter_median_s": theirs_s,
            "speedup": theirs_s / ours_s, "archlens_macs": archlens.profile(name).totals.macs,
            "flop_counter_macs": macs}


def cold_cli_times(target: str, runs: int) -> tuple[list[float], list[str]]:
    """Wall-clock seconds of ``archlens profile TARGET`` in a fresh process, ``runs`` times after one
    untimed run (bytecode caches warm), and the command."""
    script = Path(sys.executable).with_name("archlens")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "archlens"]
    command += ["profile", target]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(command, check=True, capture_output=True, env=env, cwd=ROOT)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=env, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return times, command


def cold_cli(name: str, repeat: int) -> dict:
    times, command = cold_cli_times(name, repeat)
    return {"what": f"`archlens profile {name}`, cold process, wall clock", "median_s": statistics.median(times),
            "target_s": 0.5, "runs": repeat, "command": " ".join(Path(command[0]).name if i == 0 else part
                                                                  for i, part in enumerate(command))}


def torch_vs_flop_counter(repeat: int) -> dict:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    import archlens
    from archlens.counting.torch_engine import profile_module

    network = archlens.build("googlenet", device="meta")
    shape = (1, 3, 224, 224)

    def ours():
        return profile_module(network, shape)

    def theirs():
        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            network(torch.empty(shape, device="meta"))
        return counter

    ours_macs = ours().totals.macs
    theirs_macs = theirs().get_total_flops() // 2
    ours_times, theirs_times = [], []
    for _ in range(repeat):  # interleaved, so both see the same machine state
        ours_times.append(median_seconds(ours, 1))
        theirs_times.append(median_seconds(theirs, 1))
    ours_s, theirs_s = statistics.median(ours_times), statistics.median(theirs_times)
    return {"what": "torch engine vs FlopCounterMode, GoogLeNet built on meta", "median_s": ours_s,
            "flop_counter_median_s": theirs_s, "ratio": ours_s / theirs_s, "target_ratio": 1.0, "runs": repeat,
            "archlens_macs": ours_macs, "flop_counter_macs": theirs_macs, "torch": torch.__version__}


def markdown(results: list[dict]) -> str:
    *analytic, engine = [r for r in results if "cold" not in r["what"]]
    colds = [r for r in results if "cold" in r["what"]]
    lines = [
        "| measurement | median | target | met |",
        "|---|---:|---:|---|",
    ]
    for item in analytic:
        lines.append(f"| {item['what']} ({item['runs']} runs) | {item['median_s'] * 1e3:.3f} ms | < 1 ms | "
                     f"{'yes' if item['median_s'] < item['target_s'] else 'NO'} |")
        lines.append(f"| FlopCounterMode on {item['network']} built on meta, same run | "
                     f"{item['flop_counter_median_s'] * 1e3:.1f} ms | | archlens {item['speedup']:.0f}x faster |")
    for cold in colds:
        lines.append(f"| {cold['what']} ({cold['runs']} runs) | {cold['median_s'] * 1e3:.0f} ms | < 500 ms | "
                     f"{'yes' if cold['median_s'] < cold['target_s'] else 'NO'} |")
    lines += [
        f"| torch engine, GoogLeNet on meta ({engine['runs']} runs) | {engine['median_s'] * 1e3:.1f} ms | "
        f"<= FlopCounterMode | {'yes' if engine['ratio'] <= 1 else 'NO'} |",
        f"| FlopCounterMode, same module, same run | {engine['flop_counter_median_s'] * 1e3:.1f} ms | | "
        f"ratio {engine['ratio']:.2f} |",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run for CI)")
    options = parser.parse_args()
    repeat_fast, rounds, repeat_cold, repeat_engine = (20, 2, 2, 3) if options.quick else (100, 21, 11, 21)
    results = [analytic_in_process(name, repeat_fast, rounds) for name in ("googlenet", "resnet50")]
    results += [cold_cli(name, repeat_cold) for name in ("googlenet", "resnet50")]
    results.append(torch_vs_flop_counter(repeat_engine))
    for result in results:
        if result.get("archlens_macs") != result.get("flop_counter_macs"):
            print(f"MAC counts differ: {result}", file=sys.stderr)
            return 1
    machine = {"python": platform.python_version(), "cpus": os.cpu_count(), "machine": platform.machine()}
    sys.stdout.write(f"Machine: {machine['cpus']} cores, Python {machine['python']}, "
                     f"torch {results[-1]['torch']}\n\n")
    sys.stdout.write(markdown(results))
    sys.stdout.write("\n" + json.dumps({"machine": machine, "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

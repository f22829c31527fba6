"""How fast archlens counts a training step: the README's "What a training step costs" target, in one run.

    python benchmarks/training_speed.py           # full run
    python benchmarks/training_speed.py --quick   # fewer repetitions (CI smoke run)

The analytic engine's training-step profile of ResNet-50 (batch 32, AdamW: forward, backward and
optimizer figures and the memory breakdown, ``archlens.profile("resnet50", batch=32, step="train").step``;
target < 2 ms) against ``torch.utils.flop_counter.FlopCounterMode`` tracing the forward and the backward
pass of the same network built on the meta device (training mode, batch 32; target: archlens at least 50x
faster). The two alternate in rounds, so the ratio is taken side by side; each round is a median of
repeated analytic runs and one FlopCounterMode run. Both count the same forward and backward MACs
(ResNet-50 has no grouped convolution); the script checks that too.

Prints a Markdown table, then the figures as JSON. Nothing here is a test: timings vary by machine.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from profile_speed import median_seconds  # noqa: E402

NAME, BATCH, OPTIMIZER = "resnet50", 32, "adamw"


def training_step_vs_flop_counter(repeat: int, rounds: int) -> dict:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    import archlens

    def ours():
        return archlens.profile(NAME, batch=BATCH, step="train", optimizer=OPTIMIZER).step

    network = archlens.build(NAME, device="meta", train=True)
    shape = (BATCH, 3, 224, 224)

    def theirs():
        counter = FlopCounterMode(display=False)
        with counter:
            output = network(torch.empty(shape, device="meta"))
            forward = counter.get_total_flops()
            output.backward(torch.ones_like(output))
        return forward // 2, (counter.get_total_flops() - forward) // 2

    step = ours()
    forward_macs, backward_macs = theirs()
    ours_times, theirs_times = [], []
    for _ in range(rounds):
        ours_times.append(median_seconds(ours, repeat))
        theirs_times.append(median_seconds(theirs, 1))
    ours_s, theirs_s = statistics.median(ours_times), statistics.median(theirs_times)
    return {"what": f"analytic training-step profile of {NAME}, batch {BATCH}, {OPTIMIZER}, in-process",
            "median_s": ours_s, "target_s": 0.002, "runs": repeat * rounds, "flop_counter_median_s": theirs_s,
            "flop_counter_runs": rounds, "speedup": theirs_s / ours_s, "target_speedup": 50,
            "archlens_forward_macs": step.forward.macs, "archlens_backward_macs": step.backward.macs,
            "flop_counter_forward_macs": forward_macs, "flop_counter_backward_macs": backward_macs,
            "torch": torch.__version__}


def markdown(result: dict) -> str:
    met = "yes" if result["median_s"] < result["target_s"] else "NO"
    fast = "yes" if result["speedup"] >= result["target_speedup"] else "NO"
    return "\n".join([
        "| measurement | median | target | met |",
        "|---|---:|---:|---|",
        f"| {result['what']} ({result['runs']} runs) | {result['median_s'] * 1e3:.3f} ms | < 2 ms | {met} |",
        f"| FlopCounterMode, forward and backward of {NAME} on meta, same run ({result['flop_counter_runs']} runs) "
        f"| {result['flop_counter_median_s'] * 1e3:.1f} ms | archlens >= 50x faster | "
        f"{fast}: {result['speedup']:.0f}x |",
    ]) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run for CI)")
    options = parser.parse_args()
    repeat, rounds = (5, 2) if options.quick else (50, 15)
    result = training_step_vs_flop_counter(repeat, rounds)
    sys.stdout.write(markdown(result))
    sys.stdout.write(json.dumps({"python": platform.python_version(), "machine": platform.machine(),
                                 "quick": options.quick, "result": result}, indent=2) + "\n")
    same = (result["archlens_forward_macs"] == result["flop_counter_forward_macs"]
            and result["archlens_backward_macs"] == result["flop_counter_backward_macs"])
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())

"""How fast `archlens fit` explores designs: GoogLeNet width variants profiled per second, one core.

Each variant is built the way `fit` builds it (model_copy of the unexpanded spec with scaled macro
fields) and profiled by the analytic engine (macro expansion, shape inference, every layer record).
The issue's target: at least 1,000 variants a second.

    python benchmarks/fit_speed.py [--variants 2000] [--min-rate 1000]

Exit status 1 if the measured rate is below --min-rate (when given).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archlens.analysis.fit import _classifiers, fit, width_variant  # noqa: E402
from archlens.counting.analytic import profile_spec  # noqa: E402
from archlens.spec import load_spec  # noqa: E402


def variants_per_second(count: int, network: str = "googlenet") -> tuple[float, float, float, float]:
    """Best of three rounds: (variants per CPU second, per wall second, CPU ms to build one variant,
    CPU ms to profile one). CPU time is what one core spends; wall time also counts other processes."""
    spec = load_spec(network)
    keep = _classifiers(spec.layers)
    multipliers = [250 + (index * 7919) % 1750 for index in range(count)]  # 0.25x .. 2.0x, spread out
    for milli in multipliers[:50]:  # warm up
        profile_spec(width_variant(spec, milli, keep=keep))
    best = (0.0, 0.0, 0.0, 0.0)
    for _ in range(3):
        build = profile = 0.0
        wall = time.perf_counter()
        for milli in multipliers:
            start = time.process_time()
            variant = width_variant(spec, milli, keep=keep)
            middle = time.process_time()
            profile_spec(variant)
            end = time.process_time()
            build += middle - start
            profile += end - middle
        wall = time.perf_counter() - wall
        rate = count / (build + profile)
        if rate > best[0]:
            best = (rate, count / wall, 1e3 * build / count, 1e3 * profile / count)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=2000)
    parser.add_argument("--min-rate", type=float, default=None, help="fail below this many variants a second")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    rate, wall_rate, build_ms, profile_ms = variants_per_second(args.variants)
    start = time.process_time()
    result = fit("googlenet", max_macs="1.5G")
    fit_ms = 1e3 * (time.process_time() - start)
    print(f"python {platform.python_version()} on {platform.machine()}, one core")
    print(f"googlenet width variants: {rate:,.0f} per CPU second ({wall_rate:,.0f} per wall-clock second); "
          f"build {build_ms:.3f} ms + profile {profile_ms:.3f} ms CPU each, best of 3 x {args.variants}")
    print(f"fit googlenet --max-macs 1.5G: width x{result.value:g} in {fit_ms:.1f} ms CPU ({result.evaluations} profiles)")
    if args.min_rate is not None and rate < args.min_rate:
        print(f"below the target of {args.min_rate:,.0f} variants per second", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

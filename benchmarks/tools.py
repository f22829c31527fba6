"""The profilers compared, each behind one call, and the child process that measures one of them.

``python benchmarks/tools.py TOOL[,TOOL...] REPEATS MIN_SECONDS OUT.json NETWORK...`` builds each network
(outside the timing), calls the tool once to warm it up, then at least ``REPEATS`` times (and for at
least ``MIN_SECONDS``) under ``time.perf_counter``, and
writes the figures, the times and the process's peak RSS to ``OUT.json``. The benchmark runs one
tool and one network a process, so one's memory never shows up in another's figure (the quick
mode shares one process, to stay quick). ``python benchmarks/tools.py --paired TOOL,TOOL... ROUNDS
OUT.json NETWORK`` times the tools in turn, round after round, for the side-by-side ratios.
"""

from __future__ import annotations

import json
import logging
import resource
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import networks  # noqa: E402


@dataclass(frozen=True)
class Tool:
    key: str
    label: str        # as in the README table
    call: str         # the entry point used
    package: str      # the distribution whose version is reported
    device: str       # "spec" (no module at all), "meta" or "cpu"
    unit: str         # "MAC" or "FLOP"
    convention: str   # key into conventions.RULES, or "" for archlens itself


TOOLS = (
    Tool("archlens_analytic", "archlens analytic", "archlens.profile(spec)", "archlens", "spec", "MAC", ""),
    Tool("archlens_torch", "archlens torch engine", 'archlens.profile(module, engine="torch")', "archlens",
         "meta", "MAC", ""),
    Tool("fvcore", "fvcore", "FlopCountAnalysis(model, x).total()", "fvcore", "cpu", "MAC", "fvcore"),
    Tool("flop_counter", "torch FlopCounterMode", "FlopCounterMode(display=False)", "torch", "meta", "FLOP",
         "flop_counter"),
    Tool("ptflops_pytorch", "ptflops (pytorch)", 'get_model_complexity_info(backend="pytorch")', "ptflops", "cpu",
         "MAC", "ptflops_pytorch"),
    Tool("ptflops_aten", "ptflops (aten)", 'get_model_complexity_info(backend="aten")', "ptflops", "meta", "MAC",
         "ptflops_aten"),
    Tool("thop", "thop", "thop.profile(model, inputs=(x,))", "thop", "meta", "MAC", "thop"),
    Tool("torchinfo", "torchinfo", "summary(model, input_data=[x]).total_mult_adds", "torchinfo", "meta", "MAC",
         "torchinfo"),
)
BY_KEY = {tool.key: tool for tool in TOOLS}

# Why two peers run on CPU with real weights: on the meta device fvcore's jit trace fails ("cond must
# be a bool, but got a Tensor") and ptflops's pytorch backend crashes in its patched functionals.
WHY_CPU = {
    "fvcore": "jit trace fails on meta tensors",
    "ptflops_pytorch": "its functional patches crash on meta tensors",
}


def prepare(tool: Tool, network: str):
    """What the timed call needs: a spec for the analytic engine, else ``(module, input)``."""
    if tool.device == "spec":
        return networks.load(network)
    import torch

    model = networks.build(network, tool.device)
    shape = networks.input_shape(network)
    example = torch.randn(shape) if tool.device == "cpu" else torch.empty(shape, device="meta")
    return model, example


def measure(tool: Tool, subject) -> tuple[int | None, int]:
    """``(params, count)`` as the tool reports them (count in the tool's unit)."""
    key = tool.key
    if key == "archlens_analytic":
        import archlens

        totals = archlens.profile(subject).totals
        return totals.params, totals.macs
    model, example = subject
    if key == "archlens_torch":
        import archlens

        totals = archlens.profile(model, input_shape=tuple(example.shape), engine="torch").totals
        return totals.params, totals.macs
    if key == "fvcore":
        from fvcore.nn import FlopCountAnalysis, parameter_count

        analysis = FlopCountAnalysis(model, (example,))
        analysis.unsupported_ops_warnings(False)
        analysis.uncalled_modules_warnings(False)
        return parameter_count(model)[""], analysis.total()
    if key == "flop_counter":
        import torch
        from torch.utils.flop_counter import FlopCounterMode

        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(example)
        return None, counter.get_total_flops()
    if key.startswith("ptflops"):
        from ptflops import get_model_complexity_info

        macs, params = get_model_complexity_info(
            model, tuple(example.shape[1:]), print_per_layer_stat=False, as_strings=False,
            backend=key.removeprefix("ptflops_"), ost=sys.stderr)
        if macs is None:
            raise RuntimeError("ptflops returned no figures (it printed the exception to stderr)")
        return params, macs
    if key == "thop":
        import thop

        macs, params = thop.profile(model, inputs=(example,), verbose=False)
        return int(params), int(macs)
    if key == "torchinfo":
        import torchinfo

        summary = torchinfo.summary(model, input_data=[example], verbose=0, device=example.device)
        return summary.total_params, summary.total_mult_adds
    raise KeyError(key)


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def current_rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def run_child(tool_keys: list[str], repeats: int, min_seconds: float, out: Path, names: list[str]) -> None:
    """Measure each tool on ``names``: at least ``repeats`` timed runs, more (up to 200) until
    ``min_seconds`` have passed, so fast tools get a stable median too."""
    logging.disable(logging.WARNING)   # fvcore logs one warning per unsupported op
    warnings.simplefilter("ignore")
    results: dict[str, dict] = {}
    for key in tool_keys:
        tool = BY_KEY[key]
        results[key] = {}
        for name in names:
            if tool.device == "spec" and name == networks.ATTENTION:
                continue
            try:
                results[key][name] = measure_runs(tool, name, repeats, min_seconds)
            except Exception as error:  # a peer that fails is reported, not fatal
                results[key][name] = {"ok": False,
                                      "error": f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"}
    out.write_text(json.dumps({"tools": tool_keys, "peak_rss_bytes": peak_rss_bytes(), "results": results}))


def run_paired(tool_keys: list[str], rounds: int, out: Path, name: str) -> None:
    """Call every tool once a round, in turn, on ``name``: times taken side by side, so a change in
    the machine's load hits all of them alike and the per-round ratios stay fair."""
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    tools = [BY_KEY[key] for key in tool_keys]
    subjects = [prepare(tool, name) for tool in tools]
    for tool, subject in zip(tools, subjects):
        measure(tool, subject)  # warm-up
    times: dict[str, list[float]] = {key: [] for key in tool_keys}
    for _ in range(rounds):
        for tool, subject in zip(tools, subjects):
            started = time.perf_counter()
            measure(tool, subject)
            times[tool.key].append(time.perf_counter() - started)
    out.write_text(json.dumps({"network": name, "times_s": times}))


def measure_runs(tool: Tool, name: str, repeats: int, min_seconds: float) -> dict:
    subject = prepare(tool, name)
    before = current_rss_bytes()
    started = time.perf_counter()
    params, count = measure(tool, subject)
    first = time.perf_counter() - started
    times: list[float] = []
    while len(times) < repeats or (sum(times) < min_seconds and len(times) < 200):
        started = time.perf_counter()
        measure(tool, subject)
        times.append(time.perf_counter() - started)
    return {"ok": True, "params": params, "count": int(count), "first_s": first, "times_s": times,
            "rss_before_bytes": before}


if __name__ == "__main__":
    if sys.argv[1] == "--paired":
        run_paired(sys.argv[2].split(","), int(sys.argv[3]), Path(sys.argv[4]), sys.argv[5])
    else:
        run_child(sys.argv[1].split(","), int(sys.argv[2]), float(sys.argv[3]), Path(sys.argv[4]), sys.argv[5:])

"""archlens against its peers, in one run on one machine: ``python benchmarks/run.py``.

Three studies, each tool measured in its own fresh process (``tools.py``):

1. **Peers**: GoogLeNet, AlexNet, VGG-16 (built from archlens's specs) and a module with functional
   ops and attention, profiled by archlens (analytic and torch engines) and by fvcore,
   FlopCounterMode, ptflops (both backends), thop and torchinfo: in-process time (median and range
   over repeated runs), peak RSS, params and MACs, and each peer's figure predicted from archlens's
   columns with its convention (``conventions.py``), so every difference is explained.
2. **Scale**: specs of about 1, 10 and 100 billion parameters (``specs/scale``), profiled
   analytically and on the meta device; peers that must allocate weights are shown with the
   memory they would need.
3. **Startup**: cold-process wall time of ``archlens profile googlenet`` against the cheapest peer
   script doing the same job.

Writes ``benchmarks/results.json`` and the README's table between ``<!-- bench:start -->`` and
``<!-- bench:end -->``. ``--quick`` (CI) runs few repeats on small sizes and writes only its JSON
(``benchmarks/results-quick.json``), leaving the README alone. ``--smoke`` (the test suite) runs only the
peers on the smallest networks once each and the analytic engine on one scale spec: every stage's code
but the side-by-side and startup timings, in seconds. Numbers are never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import conventions  # noqa: E402
import networks  # noqa: E402
from tools import BY_KEY, TOOLS, WHY_CPU  # noqa: E402

README = ROOT / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"

FULL = {
    "networks": [*networks.SPEC_NETWORKS, networks.ATTENTION],
    "repeats": 7,
    "min_seconds": 1.0,
    "scale_specs": ["scale/linear-1b", "scale/linear-10b", "scale/linear-100b",
                    "scale/vgg16-1b", "scale/vgg16-10b", "scale/vgg16-100b",
                    "scale/googlenet-1b", "scale/googlenet-10b", "scale/googlenet-100b",
                    "scale/deep-100", "scale/deep-1000"],
    "scale_tools": ["archlens_analytic", "archlens_torch", "flop_counter"],
    "startup_runs": 10,
    "paired_rounds": 21,
    "paired_networks": 4,
}
QUICK = {
    "networks": ["tiny-inception", networks.ATTENTION],
    "repeats": 2,
    "min_seconds": 0.0,
    "scale_specs": ["scale/linear-1b"],
    "scale_tools": ["archlens_analytic", "archlens_torch", "flop_counter"],
    "startup_runs": 1,
    "paired_rounds": 2,
    "paired_networks": 1,
}
SMOKE = {**QUICK, "repeats": 1, "scale_tools": ["archlens_analytic"], "startup_runs": 0, "paired_networks": 0}


# --- running children ---

def run_tools(tools: list[str], names: list[str], repeats: int, min_seconds: float) -> tuple[dict, float]:
    """One child process measuring ``tools`` on ``names``: its JSON, and its wall time in seconds."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "out.json"
        started = time.perf_counter()
        child = subprocess.run(
            [sys.executable, str(HERE / "tools.py"), ",".join(tools), str(repeats), str(min_seconds), str(out),
             *names], cwd=ROOT, capture_output=True, text=True, timeout=1800)
        wall = time.perf_counter() - started
        if child.returncode != 0 or not out.exists():
            last = (child.stderr.strip().splitlines() or ["no output"])[-1]
            error = {"ok": False, "error": f"child exited {child.returncode}: {last[:200]}"}
            return {"peak_rss_bytes": None, "results": {t: {n: error for n in names} for t in tools}}, wall
        return json.loads(out.read_text()), wall


def timing(result: dict) -> dict:
    times = sorted(result["times_s"])
    return {"median_s": statistics.median(times), "min_s": times[0], "max_s": times[-1], "runs": len(times)}


def peers_study(config: dict, quick: bool) -> dict:
    """Every tool on every network: one process a tool and network (quick: one process for all)."""
    names = config["networks"]
    keys = [tool.key for tool in TOOLS]
    if quick:
        children = [(keys, names, run_tools(keys, names, config["repeats"], config["min_seconds"])[0])]
    else:
        children = [([key], [name], run_tools([key], [name], config["repeats"], config["min_seconds"])[0])
                    for key in keys for name in names
                    if not (BY_KEY[key].device == "spec" and name == networks.ATTENTION)]
    rows: dict[str, dict[str, dict]] = {name: {} for name in names}
    for tool_keys, child_names, child in children:
        for key in tool_keys:
            for name in child_names:
                if name in child["results"][key]:
                    rows[name][key] = row(key, name, child, networks.terms(name), shared_process=quick)
    if networks.ATTENTION in names:
        for tool in TOOLS:
            if tool.device == "spec":
                rows[networks.ATTENTION][tool.key] = {
                    "ok": False, "not_applicable": True,
                    "error": "not a spec: the analytic engine reads specs; this module exists only as PyTorch code"}
    return {name: {key: results[key] for key in keys if key in results} for name, results in rows.items()}


def row(tool_key: str, name: str, child: dict, terms: list, *, shared_process: bool) -> dict:
    tool = BY_KEY[tool_key]
    result = child["results"][tool_key][name]
    out = {"ok": result["ok"], "device": tool.device, "unit": tool.unit}
    ours_macs = sum(t.ops.macs for t in terms)
    ours_params = sum(t.params for t in terms)
    if not result["ok"]:
        out["error"] = result["error"]
        return out
    out.update(timing(result))
    out.update(first_call_s=result["first_s"], peak_rss_bytes=child["peak_rss_bytes"],
               rss_before_bytes=result["rss_before_bytes"], rss_shared_across_networks=shared_process,
               params=result["params"], count=result["count"])
    out["params_agree"] = None if result["params"] is None else result["params"] == ours_params
    if tool.convention:
        prediction = conventions.predict(tool.convention, terms)
        out.update(predicted=prediction["predicted"], ours=prediction["ours"], reasons=prediction["reasons"],
                   agrees=result["count"] == prediction["ours"],
                   explained=result["count"] == prediction["predicted"])
    else:
        out.update(ours=ours_macs, reasons={}, agrees=result["count"] == ours_macs, explained=True,
                   predicted=ours_macs)
    return out


META_PEERS = [tool.key for tool in TOOLS if tool.device == "meta" and not tool.key.startswith("archlens")]


def paired_study(config: dict) -> dict:
    """Side-by-side ratios for the targets: the analytic engine against every meta-device peer on the
    first spec network, and the torch engine against FlopCounterMode on every network."""
    out = {}
    for index, name in enumerate(config["networks"][:config["paired_networks"]]):
        keys = ["archlens_torch", "flop_counter"]
        if index == 0 and name != networks.ATTENTION:
            keys = ["archlens_analytic", "archlens_torch", *META_PEERS]
        with tempfile.TemporaryDirectory() as scratch:
            path = Path(scratch) / "paired.json"
            child = subprocess.run(
                [sys.executable, str(HERE / "tools.py"), "--paired", ",".join(keys), str(config["paired_rounds"]),
                 str(path), name], cwd=ROOT, capture_output=True, text=True, timeout=1800)
            if child.returncode != 0 or not path.exists():
                last = (child.stderr.strip().splitlines() or ["no output"])[-1]
                out[name] = {"ok": False, "error": last[:200]}
                continue
            times = json.loads(path.read_text())["times_s"]
        out[name] = {"ok": True, "rounds": config["paired_rounds"],
                     "median_s": {key: statistics.median(values) for key, values in times.items()},
                     "times_s": times}
    return out


def round_ratio(paired: dict, slow: str, fast: str) -> float:
    """Median over rounds of ``slow``'s time over ``fast``'s."""
    return statistics.median(a / b for a, b in zip(paired["times_s"][slow], paired["times_s"][fast]))


def scale_study(config: dict, quick: bool) -> list[dict]:
    """Specs of 1 to 100 billion parameters: archlens analytic and the meta-device tools; weights needed by the rest."""
    from archlens.counting.analytic import profile_spec

    keys = config["scale_tools"]
    rows = []
    for name in config["scale_specs"]:
        profile = profile_spec(networks.load(name))
        entry = {"spec": name, "params": profile.totals.params, "macs": profile.totals.macs,
                 "layers": len(profile.layers), "weights_bytes_float32": 4 * profile.totals.params, "tools": {}}
        children = [(keys, run_tools(keys, [name], config["repeats"], config["min_seconds"]))] if quick else \
            [([key], run_tools([key], [name], config["repeats"], config["min_seconds"])) for key in keys]
        for tool_keys, (child, wall) in children:
            for key in tool_keys:
                result = child["results"][key][name]
                if result["ok"]:
                    entry["tools"][key] = {**timing(result), "peak_rss_bytes": child["peak_rss_bytes"],
                                           "process_wall_s": wall, "macs": result["count"],
                                           "params": result["params"]}
                else:
                    entry["tools"][key] = {"ok": False, "error": result["error"]}
        rows.append(entry)
    return rows


# --- startup ---

PEER_SCRIPT = """\
import torch
from torch.utils.flop_counter import FlopCounterMode
import archlens
net = archlens.build("googlenet", device="meta")
with FlopCounterMode(display=False) as counter:
    net(torch.empty(1, 3, 224, 224, device="meta"))
print(sum(p.numel() for p in net.parameters()), counter.get_total_flops() // 2)
"""


def startup_commands() -> dict[str, list[str]]:
    script = Path(sys.executable).with_name("archlens")
    archlens_cmd = [str(script)] if script.exists() else [sys.executable, "-m", "archlens"]
    return {
        "archlens profile googlenet": [*archlens_cmd, "profile", "googlenet"],
        "peer script (torch + FlopCounterMode on meta)": [sys.executable, "-c", PEER_SCRIPT],
        "floor: python -c 'import torch'": [sys.executable, "-c", "import torch"],
    }


def startup_study(runs: int, warm_up: bool) -> dict:
    """Wall time of fresh processes, after one untimed run of each (warm file cache, cold interpreter)."""
    out = {}
    for label, command in startup_commands().items() if runs else ():
        if warm_up:
            subprocess.run(command, cwd=ROOT, capture_output=True, check=True)
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run(command, cwd=ROOT, capture_output=True, check=True)
            times.append(time.perf_counter() - started)
        times.sort()
        out[label] = {"command": command if label.startswith("archlens") else command[:2] + ["<script>"],
                      "median_s": statistics.median(times), "min_s": times[0], "max_s": times[-1], "runs": runs}
    return out


# --- targets, machine ---

def targets(peers: dict, paired: dict, scale: list[dict], startup: dict) -> list[dict]:
    out = []
    first = next(iter(paired.values()), {})
    if first.get("ok") and "archlens_analytic" in first["times_s"]:
        name = next(iter(paired))
        medians = {key: first["median_s"][key] for key in META_PEERS}
        fastest = min(medians, key=medians.get)
        ratio = round_ratio(first, fastest, "archlens_analytic")
        out.append({"target": f"analytic {name} profile >= 100x faster than the fastest peer (side by side)",
                    "measured": f"{ratio:.0f}x (archlens {ms(first['median_s']['archlens_analytic'])}, "
                                f"{BY_KEY[fastest].label} on meta {ms(medians[fastest])})",
                    "ratio": ratio, "met": ratio >= 100})
    google = peers.get("googlenet", {})
    analytic = google.get("archlens_analytic", {})
    cpu_times = {k: v["median_s"] for k, v in google.items()
                 if BY_KEY[k].device == "cpu" and v.get("ok")}
    if analytic.get("ok") and cpu_times:
        fastest = min(cpu_times, key=cpu_times.get)
        ratio = cpu_times[fastest] / analytic["median_s"]
        out.append({"target": "analytic googlenet profile >= 100x faster than the fastest peer that needs weights (CPU)",
                    "measured": f"{ratio:.0f}x (archlens {ms(analytic['median_s'])}, {BY_KEY[fastest].label} "
                                f"on cpu {ms(cpu_times[fastest])})", "ratio": ratio, "met": ratio >= 100})
    for name, result in paired.items():
        if result.get("ok"):
            ratio = round_ratio(result, "flop_counter", "archlens_torch")
            out.append({"target": f"torch engine no slower than FlopCounterMode ({name}, both on meta, side by side)",
                        "measured": f"{ratio:.2f}x (engine {ms(result['median_s']['archlens_torch'])}, "
                                    f"FlopCounterMode {ms(result['median_s']['flop_counter'])})",
                        "ratio": ratio, "met": ratio >= 1.0})
    labels = list(startup)
    if len(labels) >= 2:
        ratio = startup[labels[1]]["median_s"] / startup[labels[0]]["median_s"]
        out.append({"target": "`archlens profile googlenet` cold >= 3x faster than the cheapest peer script",
                    "measured": f"{ratio:.1f}x ({ms(startup[labels[0]]['median_s'])} vs "
                                f"{ms(startup[labels[1]]['median_s'])})", "ratio": ratio, "met": ratio >= 3})
    big = [row for row in scale if row["params"] >= 5e10 and row["tools"].get("archlens_analytic", {}).get("median_s")]
    for row in big:
        result = row["tools"]["archlens_analytic"]
        met = result["median_s"] < 1.0 and result["peak_rss_bytes"] < 300e6
        out.append({"target": f"100-billion-parameter design ({row['spec']}) analytic < 1 s, peak RSS < 300 MB",
                    "measured": f"{ms(result['median_s'])}, peak RSS {mb(result['peak_rss_bytes'])} "
                                f"(whole process {result['process_wall_s']:.2f} s)", "met": met})
    return out


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for package in ("archlens", "torch", "fvcore", "ptflops", "thop", "torchinfo"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "versions": versions, "load_average_1min_at_start": os.getloadavg()[0]}


# --- rendering ---

def ms(seconds: float) -> str:
    if seconds < 0.001:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 10:
        return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"
    return f"{seconds:.1f} s"


def mb(nbytes: float | None) -> str:
    if nbytes is None:
        return "—"
    if nbytes >= 1e12:
        return f"{nbytes / 1e12:.1f} TB"
    if nbytes >= 1e9:
        return f"{nbytes / 1e9:.1f} GB"
    return f"{nbytes / 1e6:.0f} MB"


def difference_cell(result: dict) -> str:
    if result["agrees"]:
        return "same as archlens"
    parts = [f"{amount:+,} {label}" for label, amount in result["reasons"].items()]
    verdict = "explained exactly" if result["explained"] else \
        f"**unexplained**: predicted {result['predicted']:,}, off by {result['count'] - result['predicted']:+,}"
    return f"{'; '.join(parts)} ({verdict})"


def load_note(m: dict) -> str:
    start, end = m.get("load_average_1min_at_start", 0.0), m.get("load_average_1min_at_end", 0.0)
    note = f"1-minute load average {start:.1f} at the start, {end:.1f} at the end"
    if max(start, end) > 0.5 * (m["cores"] or 1):
        note += ": other work shared the machine, so the ranges are wide and the ratios approximate"
    return note


def render(data: dict) -> str:
    m = data["machine"]
    v = m["versions"]
    lines = [
        f"Measured on {m['cores']} cores of an {m['cpu']}, Python {m['python']}, torch {v['torch']}, "
        f"fvcore {v['fvcore']}, ptflops {v['ptflops']}, thop {v['thop']}, torchinfo {v['torchinfo']} "
        f"({data['generated']}; reproduce with `python benchmarks/run.py`, numbers in `benchmarks/results.json`; "
        f"{load_note(m)}). "
        "Time: median and range of in-process calls on a built module (or a loaded spec), after one warm-up call; "
        "peak RSS: the whole process running that one tool (Python, torch, the module with its weights when on CPU). "
        "Counts are as each tool reports them; FlopCounterMode reports FLOPs (2 x MACs).",
        "",
        "**Targets**",
        "",
        "| target | measured | met |",
        "|---|---|---|",
    ]
    lines += [f"| {t['target']} | {t['measured']} | {'yes' if t['met'] else '**no**'} |" for t in data["targets"]]
    for name, results in data["peers"].items():
        title = {"attention": "attention module (conv stem, F.relu, nn.Linear on tokens, SDPA, `@`, torch.matmul, "
                              "torch.softmax, `+`, mean; 1x3x32x32)"}.get(name, name)
        lines += ["", f"**{title}**", "",
                  "| tool | runs on | time (median, range) | peak RSS | params | count | vs archlens |",
                  "|---|---|---:|---:|---:|---:|---|"]
        for key, result in results.items():
            tool = BY_KEY[key]
            device = {"spec": "spec"}.get(tool.device, tool.device) + (f" ({WHY_CPU[key]})" if key in WHY_CPU else "")
            if not result.get("ok"):
                lines.append(f"| {tool.label} | {device} | — | — | — | — | {result['error']} |")
                continue
            params = "—" if result["params"] is None else f"{result['params']:,}" + (
                "" if result["params_agree"] else " (differs)")
            lines.append(
                f"| {tool.label} | {device} | {ms(result['median_s'])} ({ms(result['min_s'])}–{ms(result['max_s'])}) "
                f"| {mb(result['peak_rss_bytes'])} | {params} | {result['count']:,} {tool.unit} "
                f"| {difference_cell(result)} |")
    lines += ["", "**Scale** (time: median in-process call; peak RSS: the whole process; `needs`: float32 weights "
              "a tool that must allocate them (fvcore, ptflops `pytorch`) would need before counting)", "",
              "| spec | params | layer records | archlens analytic | archlens torch (meta) | FlopCounterMode (meta) | needs |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for row in data["scale"]:
        cells = []
        for key in ("archlens_analytic", "archlens_torch", "flop_counter"):
            result = row["tools"].get(key)
            if result is None:
                cells.append("—")
            elif result.get("ok") is False:
                cells.append("failed")
            else:
                cells.append(f"{ms(result['median_s'])}, {mb(result['peak_rss_bytes'])}")
        lines.append(f"| `{row['spec'].removeprefix('scale/')}` | {row['params'] / 1e9:.1f} B | {row['layers']} | "
                     f"{' | '.join(cells)} | {mb(row['weights_bytes_float32'])} |")
    if not data["startup"]:
        return "\n".join(lines)
    runs = next(iter(data["startup"].values()))["runs"]
    warm = ", after one untimed run of each" if data["mode"] == "full" else ""
    lines += ["", f"**Startup** (wall time of a fresh process, median of {runs}{warm}; the peer script imports "
              "torch and archlens, builds GoogLeNet on meta and counts it with FlopCounterMode)", "",
              "| command | median | range |", "|---|---:|---:|"]
    for label, result in data["startup"].items():
        lines.append(f"| {label} | {ms(result['median_s'])} | {ms(result['min_s'])}–{ms(result['max_s'])} |")
    return "\n".join(lines)


def write_readme(block: str) -> None:
    text = README.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"README.md has no {START} ... {END} block")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{START}\n{block}\n{END}{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repeats, small sizes; JSON only (CI)")
    parser.add_argument("--smoke", action="store_true", help="the smallest run through every study but the "
                                                             "timing ones (the test suite); JSON only")
    parser.add_argument("--json", type=Path, help="where the JSON goes (default benchmarks/results.json, "
                                                  "or results-quick.json, results-smoke.json)")
    parser.add_argument("--no-readme", action="store_true", help="do not rewrite the README's table")
    parser.add_argument("--render", type=Path, metavar="JSON",
                        help="measure nothing: rewrite the README's table from an earlier full run's JSON")
    args = parser.parse_args(argv)
    if args.render:
        data = json.loads(args.render.read_text())
        data["targets"] = targets(data["peers"], data["paired"], data["scale"], data["startup"])
        write_readme(render(data))
        return 0
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    short = mode != "full"
    config = {"smoke": SMOKE, "quick": QUICK, "full": FULL}[mode]
    data = {
        "generated": time.strftime("%Y-%m-%d", time.gmtime()),
        "mode": mode,
        "machine": machine(),
        "tools": {tool.key: {"label": tool.label, "call": tool.call, "device": tool.device, "unit": tool.unit}
                  for tool in TOOLS},
        "peers": peers_study(config, short),
        "paired": paired_study(config),
        "scale": scale_study(config, short),
        "startup": startup_study(config["startup_runs"], warm_up=not short),
    }
    data["targets"] = targets(data["peers"], data["paired"], data["scale"], data["startup"])
    data["machine"]["load_average_1min_at_end"] = os.getloadavg()[0]
    out = args.json or HERE / ("results.json" if mode == "full" else f"results-{mode}.json")
    out.write_text(json.dumps(data, indent=2) + "\n")
    block = render(data)
    if not short and not args.no_readme:
        write_readme(block)
    print(block)
    return 0


if __name__ == "__main__":
    sys.exit(main())

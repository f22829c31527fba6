"""The torch engine's first call in a fresh process, against FlopCounterMode's, side by side.

    python benchmarks/first_call.py              # 11 fresh processes per tool and model
    python benchmarks/first_call.py --runs 3     # a quick look

Each run is a new Python process that imports torch, builds the model on the meta device (untimed:
the same for both tools), then times

* the first call: importing the tool (``archlens.counting.torch`` or ``torch.utils.flop_counter``)
  and profiling the model once, what a user waits for on a first ``profile``;
* a warm call: the same profile again, in the same process.

Three tools: the torch engine's entry point (``archlens.counting.torch.profile_module``), the
public ``archlens.profile(model, input_shape=...)`` (it goes through ``archlens.profiler``, which
imports the spec package, pydantic and YAML, even for a module), and FlopCounterMode.

The two tools alternate, run after run, so both see the same machine. Models: a ResNet-style CNN
and a ViT-style transformer written with ``torch.nn`` only, plus torchvision's ``resnet50`` and
``swin_t`` when torchvision is installed. Prints a Markdown table of medians and ratios
(each tool / FlopCounterMode: below 1 is faster), then the raw figures as JSON. Not a test: timings
vary by machine.
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
TOOLS = ("archlens", "archlens.profile", "flop_counter")

MODELS = {
    "cnn": (1, 3, 224, 224),
    "transformer": (1, 197, 384),
    "resnet50": (1, 3, 224, 224),
    "swin_t": (1, 3, 224, 224),
}


def build(name: str):
    """The model, on the meta device."""
    import torch
    from torch import nn

    with torch.device("meta"):
        if name in ("resnet50", "swin_t"):
            import torchvision

            return getattr(torchvision.models, name)().eval()
        if name == "cnn":
            def unit(cin, cout, stride=1):
                return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
                                     nn.ReLU(inplace=True))

            class Residual(nn.Module):
                def __init__(self, width):
                    super().__init__()
                    self.body = nn.Sequential(unit(width, width), unit(width, width))

                def forward(self, x):
                    return x + self.body(x)

            layers = [unit(3, 64, 2), nn.MaxPool2d(3, 2, 1)]
            width = 64
            for stage in range(4):
                if stage:
                    layers.append(unit(width, width * 2, 2))
                    width *= 2
                layers += [Residual(width), Residual(width)]
            layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 1000)]
            return nn.Sequential(*layers).eval()
        layer = nn.TransformerEncoderLayer(384, 6, 1536, activation="gelu", batch_first=True, norm_first=True)
        return nn.TransformerEncoder(layer, 12, enable_nested_tensor=False).eval()


def child(tool: str, model_name: str) -> dict:
    started = time.perf_counter()
    import torch

    torch_import = time.perf_counter() - started
    model = build(model_name)
    shape = MODELS[model_name]

    def archlens_call():
        from archlens.counting.torch import profile_module

        return profile_module(model, shape).totals.macs

    def archlens_profile_call():
        import archlens

        return archlens.profile(model, input_shape=shape).totals.macs

    def flop_counter_call():
        from torch.utils.flop_counter import FlopCounterMode

        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            model(torch.empty(shape, device="meta"))
        return counter.get_total_flops() // 2

    call = {"archlens": archlens_call, "archlens.profile": archlens_profile_call,
            "flop_counter": flop_counter_call}[tool]
    start = time.perf_counter()
    macs = call()
    first = time.perf_counter() - start
    start = time.perf_counter()
    call()
    warm = time.perf_counter() - start
    return {"tool": tool, "model": model_name, "macs": macs, "first_s": first, "warm_s": warm,
            "torch_import_s": torch_import}


def run_child(tool: str, model_name: str) -> dict:
    # bytecode caches written and used, as in an installed package (PYTHONDONTWRITEBYTECODE would make
    # every import of archlens compile its sources)
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    result = subprocess.run([sys.executable, __file__, "--child", tool, model_name], check=True,
                            capture_output=True, text=True, env=env, cwd=ROOT)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="fresh processes per tool and model")
    parser.add_argument("--models", nargs="*", help=f"a subset of {', '.join(MODELS)}")
    parser.add_argument("--child", nargs=2, metavar=("TOOL", "MODEL"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        print(json.dumps(child(*options.child)))
        return 0
    try:
        import torchvision  # noqa: F401

        available = list(MODELS)
    except ImportError:
        available = ["cnn", "transformer"]
    models = [name for name in (options.models or available) if name in available]
    figures: dict[str, dict[str, list[dict]]] = {}
    for tool in TOOLS:  # a first run of each writes the bytecode caches; not measured
        run_child(tool, models[0])
    for model_name in models:
        runs = figures[model_name] = {tool: [] for tool in TOOLS}
        for _ in range(options.runs):  # alternating, each in a fresh process
            for tool in TOOLS:
                runs[tool].append(run_child(tool, model_name))
    import torch

    lines = [f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, torch {torch.__version__}; "
             f"{options.runs} fresh processes per tool and model, medians", "",
             "| model | tool | first call | ratio | warm call | ratio | same MACs |",
             "|---|---|---:|---:|---:|---:|---|"]
    summary = {}
    for model_name, runs in figures.items():
        medians = {tool: {key: statistics.median(run[key] for run in tool_runs) for key in ("first_s", "warm_s")}
                   for tool, tool_runs in runs.items()}
        same = len({run["macs"] for tool_runs in runs.values() for run in tool_runs}) == 1
        theirs = medians["flop_counter"]
        summary[model_name] = {"medians": medians, "same_macs": same, "ratios": {}}
        for tool in TOOLS:
            ours = medians[tool]
            first_ratio, warm_ratio = ours["first_s"] / theirs["first_s"], ours["warm_s"] / theirs["warm_s"]
            summary[model_name]["ratios"][tool] = {"first": first_ratio, "warm": warm_ratio}
            name = {"archlens": "`profile_module`", "archlens.profile": "`archlens.profile`",
                    "flop_counter": "FlopCounterMode"}[tool]
            lines.append(f"| {model_name} | {name} | {ours['first_s'] * 1e3:.0f} ms | {first_ratio:.2f} | "
                         f"{ours['warm_s'] * 1e3:.1f} ms | {warm_ratio:.2f} | {'yes' if same else 'NO'} |")
    sys.stdout.write("\n".join(lines) + "\n\n")
    sys.stdout.write(json.dumps({"summary": summary, "runs": figures}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

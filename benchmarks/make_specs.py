"""Write the scale-study specs into ``benchmarks/specs/scale/`` (they are committed; rerun to regenerate).

Three families at about 1, 10 and 100 billion parameters, and one family at a fixed 10 billion
with 10, 100 and 1000 layers:

* ``vgg16-*``: VGG-16 with every width (convolutions and fc6/fc7) multiplied by a factor;
* ``googlenet-*``: GoogLeNet with every channel count multiplied by a factor (inference: no aux heads);
* ``linear-*``: a stack of 10 square linear layers on a flat input;
* ``deep-*``: stacks of 100 and 1000 square linear layers holding 10 billion parameters together
  (with ``linear-10b``, 10 layers, they show the cost growing with the number of layers).

``python benchmarks/make_specs.py``
"""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path

import yaml

OUT = Path(__file__).resolve().parent / "specs" / "scale"
SIZES = {"1b": 1e9, "10b": 1e10, "100b": 1e11}
WIDTH_FIELDS = {"out", "ch1x1", "ch3x3_reduce", "ch3x3", "ch5x5_reduce", "ch5x5", "pool_proj"}
BASES = ("vgg16", "googlenet")


def widened(name: str, factor: float, label: str) -> dict:
    """The built-in spec ``name`` with every width field times ``factor`` (the classifier's 1000 kept)."""
    text = resources.files("archlens").joinpath("specs", f"{name}.yaml").read_text()
    spec = yaml.safe_load(text)
    layers = [layer for layer in spec["layers"] if "aux" not in layer]
    last_linear = max(i for i, layer in enumerate(layers) if "linear" in layer)
    for index, layer in enumerate(layers):
        (kind, fields), = layer.items()
        if index == last_linear:
            continue
        for key in WIDTH_FIELDS & fields.keys():
            fields[key] = max(1, round(fields[key] * factor))
    return {
        "name": f"{name}-{label}",
        "description": f"{name} with every width times {factor:.2f} (about {label.upper()} parameters), "
                       "for the benchmark's scale study.",
        "input": spec["input"],
        "layers": layers,
    }


def calibrated(name: str, target: float, label: str) -> dict:
    """``widened`` with the factor that brings the parameter count within 1% of ``target``.

    Parameters grow about with the square of the width, so a few square-root steps converge.
    """
    from archlens.counting.analytic import profile_spec
    from archlens.spec import load_spec

    factor = 1.0
    for _ in range(8):
        spec = widened(name, factor, label)
        params = profile_spec(load_spec(spec)).totals.params
        if abs(params / target - 1) < 0.01:
            break
        factor *= math.sqrt(target / params)
    return spec


def linear_stack(name: str, depth: int, width: int, label: str) -> dict:
    return {
        "name": name,
        "description": f"{depth} linear layers of width {width} (about {label.upper()} parameters), "
                       "for the benchmark's scale study.",
        "input": {"channels": width, "height": 1, "width": 1},
        "layers": [{"flatten": {"name": "flatten"}}]
        + [{"linear": {"name": f"fc{i + 1}", "out": width, "activation": "relu"}} for i in range(depth)],
    }


def specs() -> list[dict]:
    out = []
    for label, target in SIZES.items():
        for base in BASES:
            out.append(calibrated(base, target, label))
        out.append(linear_stack(f"linear-{label}", 10, round(math.sqrt(target / 10)), label))
    for depth in (100, 1000):
        out.append(linear_stack(f"deep-{depth}", depth, round(math.sqrt(1e10 / depth)), "10b"))
    return out


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for spec in specs():
        text = yaml.safe_dump(spec, sort_keys=False, default_flow_style=None, width=120)
        (OUT / f"{spec['name']}.yaml").write_text(text)


if __name__ == "__main__":
    main()

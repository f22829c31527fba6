"""The analyses as text: terminal tables, Markdown and CSV (JSON lives on each result's ``to_json``).

Small pure functions from the frozen results of :mod:`archlens.analysis` to text; the same
result gives the same bytes.
"""

from __future__ import annotations

import csv
import io
from typing import Any, Sequence

from archlens.units import format_bytes, format_count, format_int

# ---------------------------------------------------------------- shared helpers


def grid_text(title: str, header: Sequence[str], rows: Sequence[Sequence[str]], align: str,
              notes: Sequence[str] = (), *, width: int = 220) -> str:
    """A plain terminal table (rich, no colour, fixed width so files and pipes get the same bytes)."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name, side in zip(header, align):
        table.add_column(name, justify="right" if side == "r" else "left", no_wrap=True)
    for row in rows:
        table.add_row(*row)
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, highlight=False, force_terminal=False)
    if title:
        console.print(title, soft_wrap=True)
    console.print(table)
    for line in notes:
        console.print(line, soft_wrap=True)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"


def markdown_text(title: str, header: Sequence[str], rows: Sequence[Sequence[str]], align: str,
                  notes: Sequence[str] = ()) -> str:
    from archlens.render.text import markdown_table, markdown_text as escape

    text = f"### {escape(title)}\n\n" if title else ""
    text += markdown_table(list(header), [list(row) for row in rows], align)
    if notes:
        text += "\n" + "".join(f"- {escape(line)}\n" for line in notes)
    return text


def csv_text(records: Sequence[dict[str, Any]]) -> str:
    """Records as CSV (header from the first record); lists become ``1x3x224x224``, None empty."""
    if not records:
        return ""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(records[0]), lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({key: ("x".join(map(str, value)) if isinstance(value, (list, tuple))
                               else "" if value is None else value) for key, value in record.items()})
    return buffer.getvalue()


def times(value: float | None) -> str:
    """A ratio: ``8.7111`` -> ``8.71x``, ``0.000449`` -> ``0.00045x``; None -> an em dash."""
    if value is None:
        return "—"
    return f"{value:.2f}x" if value == 0 or value >= 0.1 else f"{value:.2g}x"


def percent(value: float | None) -> str:
    """A signed share: ``0.055`` -> ``+5.5 %``; under 0.1 % two significant digits (``+0.021 %``)."""
    if value is None:
        return "—"
    share = 100 * value
    return f"{share:+.2g} %" if 0 < abs(share) < 0.1 else f"{share:+.1f} %"


def count_text(value: int) -> str:
    """``1582671872`` -> ``1,582,671,872 (1.58 G)``."""
    short = format_count(value)
    return format_int(value) if short == str(value) else f"{format_int(value)} ({short})"


# ---------------------------------------------------------------- compare

COMPARE_NOTE = (
    "MACs: conv/linear/matmul multiply-accumulates (the paper's \"ops\"); FLOPs = 2 x MACs; other ops: bias, "
    "normalization, activation, pooling and elementwise ops. Activations: bytes of every layer's output summed "
    "(Profile.totals.activation_bytes). Depth: layers with parameters / also counting pooling, on the longest "
    "path. Ratios: network / baseline (the first column)."
)


def _accuracy(top1: float | None, top5: float | None) -> str:
    if top1 is None:
        return "—"
    return f"{top1:.3f}" if top5 is None else f"{top1:.3f} / {top5:.3f}"


def comparison_rows(comparison) -> tuple[list[str], list[list[str]]]:
    """A side-by-side table: one row a figure, one column a network."""
    nets = comparison.networks
    header = ["", *(net.name for net in nets)]
    base = comparison.baseline.name
    body = [
        ["Input", *("x".join(map(str, net.input_shape)) for net in nets)],
        ["Params", *(format_int(net.params) for net in nets)],
        ["MACs", *(format_int(net.macs) for net in nets)],
        ["FLOPs", *(format_int(net.flops) for net in nets)],
        ["Other ops", *(format_int(net.other_ops) for net in nets)],
        ["Activations", *(format_bytes(net.activation_bytes) for net in nets)],
        ["Depth (params / +pool)", *("—" if net.depth_weighted is None
                                      else f"{net.depth_weighted} / {net.depth_with_pooling}" for net in nets)],
        ["Top-1 / top-5 (published)", *(_accuracy(net.top1, net.top5) for net in nets)],
    ]
    labels = {"params": "Params", "macs": "MACs", "flops": "FLOPs", "other_ops": "Other ops",
              "activation_bytes": "Activations"}
    for figure, label in labels.items():
        body.append([f"{label} vs {base}", *(times(comparison.ratios(net)[figure]) for net in nets)])
    return header, body


def _accuracy_notes(comparison) -> list[str]:
    return [f"Accuracy of {net.name}: {net.accuracy_source}" for net in comparison.networks if net.accuracy_source]


def comparison_table(comparison) -> str:
    header, body = comparison_rows(comparison)
    mode = "training mode" if comparison.train else "inference"
    title = f"Compared with {comparison.baseline.name} ({mode}; ratios are network / {comparison.baseline.name})"
    return grid_text(title, header, body, "l" + "r" * (len(header) - 1), [*_accuracy_notes(comparison), COMPARE_NOTE])


def comparison_markdown(comparison) -> str:
    header, body = comparison_rows(comparison)
    return markdown_text(f"Compared with {comparison.baseline.name}", header, body, "l" + "r" * (len(header) - 1),
                         [*_accuracy_notes(comparison), COMPARE_NOTE])


def comparison_csv(comparison) -> str:
    return csv_text(comparison.rows())


# ---------------------------------------------------------------- inception study

MODULE_HEADER = ["Module", "Input", "Params naive", "Params reduced", "Saved", "MACs naive", "MACs reduced",
                 "Saved", "Naive/reduced", "Out naive", "Out reduced"]
CASCADE_HEADER = ["Block", "Channels naive", "Channels reduced", "MACs naive", "MACs reduced", "Naive/reduced",
                  "Cumulative naive", "Cumulative reduced"]
STUDY_NOTE = (
    "Per module: each module alone on the input it sees in the reduced network (naive = figure 2a: 1x1, 3x3, 5x5 "
    "convolutions and a 3x3 max pool side by side, the pool passing all its input channels through; reduced = "
    "figure 2b). Cascade: the whole network with every module naive against as given; blocks without MACs are "
    "left out of this table (the JSON has them)."
)


def module_rows(study) -> list[list[str]]:
    body = []
    for m in study.modules:
        body.append([
            m.name, "x".join(map(str, m.input_shape)),
            format_int(m.naive.params), format_int(m.reduced.params), format_int(m.params_saved),
            format_int(m.naive.macs), format_int(m.reduced.macs), format_int(m.macs_saved),
            times(m.macs_ratio), str(m.naive.out_channels), str(m.reduced.out_channels),
        ])
    naive_params = sum(m.naive.params for m in study.modules)
    reduced_params = sum(m.reduced.params for m in study.modules)
    naive_macs = sum(m.naive.macs for m in study.modules)
    reduced_macs = sum(m.reduced.macs for m in study.modules)
    body.append(["all modules", "", format_int(naive_params), format_int(reduced_params),
                 format_int(naive_params - reduced_params), format_int(naive_macs), format_int(reduced_macs),
                 format_int(naive_macs - reduced_macs), times(naive_macs / reduced_macs), "", ""])
    return body


def cascade_rows(study) -> list[list[str]]:
    body = [[row.name, str(row.naive_channels), str(row.reduced_channels), format_int(row.naive_macs),
             format_int(row.reduced_macs), times(row.macs_ratio), format_int(row.naive_cumulative_macs),
             format_int(row.reduced_cumulative_macs)]
            for row in study.cascade if row.naive_macs or row.reduced_macs]
    body.append(["whole network", "", "", format_int(study.naive_macs), format_int(study.reduced_macs),
                 times(study.naive_macs / study.reduced_macs), "", ""])
    return body


def _study_summary(study) -> str:
    return (f"Whole network: {format_int(study.naive_params)} params naive against {format_int(study.reduced_params)} "
            f"reduced ({times(study.naive_params / study.reduced_params)}); {format_int(study.naive_macs)} MACs "
            f"against {format_int(study.reduced_macs)} ({times(study.naive_macs / study.reduced_macs)}).")


def study_table(study, part: str = "all") -> str:
    text = ""
    if part in ("all", "modules"):
        text += grid_text(f"Inception modules of {study.network}: naive (fig. 2a) vs reduced (fig. 2b), same input",
                          MODULE_HEADER, module_rows(study), "llrrrrrrrrr")
    if part in ("all", "cascade"):
        text += ("\n" if text else "") + grid_text(
            f"Cascade: {study.network} with every module naive, block by block", CASCADE_HEADER,
            cascade_rows(study), "lrrrrrrr")
    return text + "\n".join([_study_summary(study), STUDY_NOTE]) + "\n"


def study_markdown(study, part: str = "all") -> str:
    parts = []
    if part in ("all", "modules"):
        parts.append(markdown_text(f"Inception modules of {study.network}: naive vs reduced, same input",
                                   MODULE_HEADER, module_rows(study), "llrrrrrrrrr"))
    if part in ("all", "cascade"):
        parts.append(markdown_text(f"Cascade: {study.network} with every module naive", CASCADE_HEADER,
                                   cascade_rows(study), "lrrrrrrr"))
    return "\n".join(parts) + f"\n{_study_summary(study)}\n\n_{STUDY_NOTE}_\n"


def study_csv(study, part: str = "modules") -> str:
    """One CSV table: ``part`` ``modules`` (one row a module) or ``cascade`` (one row a top-level block)."""
    if part == "cascade":
        return csv_text([row.to_dict() for row in study.cascade])
    records = []
    for module in study.modules:
        data = module.to_dict()
        record = {"name": data["name"], "input_shape": data["input_shape"]}
        for variant in ("naive", "reduced"):
            record.update({f"{variant}_{key}": value for key, value in data[variant].items()})
        record.update({key: data[key] for key in ("params_saved", "macs_saved", "params_ratio", "macs_ratio")})
        records.append(record)
    return csv_text(records)


# ---------------------------------------------------------------- paper claims

CLAIM_TITLES = {
    "params_vs_alexnet": "12 times fewer parameters than AlexNet",
    "budget_1_5g": "1.5 billion multiply-adds at inference",
    "depth_22_27": "22 layers with parameters, 27 with pooling",
    "building_blocks_100": "about 100 building blocks",
}


def _figure(value: float | int, unit: str) -> str:
    if unit == "x":
        return f"{value:.2f}x" if isinstance(value, float) else f"{value}x"
    if unit == "MACs":
        return count_text(int(value))
    return format_int(int(value))


def verdict_text(claim) -> str:
    """``holds``, ``holds within 5.5 %``, ``does not hold (-27.4 %)``."""
    if claim.verdict == "holds":
        return "holds"
    if claim.verdict == "holds_within":
        return f"holds within {100 * abs(claim.deviation):.1f} %"
    return f"does not hold ({percent(claim.deviation)})"


def claim_rows(report) -> list[list[str]]:
    return [[CLAIM_TITLES.get(c.key, c.key), " / ".join(_figure(v, c.unit) for v in c.claimed),
             " / ".join(_figure(v, c.unit) for v in c.measured), verdict_text(c)] for c in report.claims]


CLAIMS_HEADER = ["Claim (Szegedy et al. 2014)", "Paper", "Measured", "Verdict"]


def _claim_notes(report) -> list[str]:
    notes = [f"{CLAIM_TITLES.get(c.key, c.key)}: {c.explanation}" for c in report.claims]
    notes.append(f"Verdicts: holds = equal; holds within N % = within {100 * report.tolerance:.0f} % of the claim; "
                 "does not hold = further off (signed deviation = (measured - claimed) / claimed).")
    return notes


def claims_table(report) -> str:
    return grid_text("The GoogLeNet paper's claims, measured", CLAIMS_HEADER, claim_rows(report), "lrrl",
                     [f"- {line}" for line in _claim_notes(report)])


def claims_markdown(report) -> str:
    return markdown_text("The GoogLeNet paper's claims, measured", CLAIMS_HEADER, claim_rows(report), "lrrl",
                         _claim_notes(report))


def claims_csv(report) -> str:
    return csv_text([{"key": c.key, "claimed": " / ".join(map(str, c.claimed)),
                      "measured": " / ".join(str(round(v, 6)) for v in c.measured), "unit": c.unit,
                      "verdict": c.verdict, "deviation": round(c.deviation, 6), "explanation": c.explanation}
                     for c in report.claims])


# ---------------------------------------------------------------- budgets

BUDGET_HEADER = ["Scope", "Limit on", "Limit", "Measured", "Margin", "Margin %", "Status"]
QUANTITY_LABELS = {"params": "params", "macs": "MACs", "flops": "FLOPs", "activations": "activations",
                   "depth": "depth (layers)"}


def _quantity_value(quantity: str, value: int) -> str:
    if quantity == "activations":
        return f"{format_int(value)} B ({format_bytes(value)})" if abs(value) >= 1024 else f"{value} B"
    if quantity == "depth":
        return str(value)
    return count_text(value)


def budget_rows(report) -> list[list[str]]:
    return [[item.block or "network", QUANTITY_LABELS[item.quantity], _quantity_value(item.quantity, item.limit),
             _quantity_value(item.quantity, item.measured), _quantity_value(item.quantity, item.margin),
             percent(item.margin_fraction), "ok" if item.ok else "OVER"] for item in report.checks]


def budget_heading(report) -> str:
    if report.ok:
        count = len(report.checks)
        return f"{report.network}: within budget ({count} limit{'s' if count != 1 else ''})"
    return f"{report.network}: OVER BUDGET ({len(report.failures)} of {len(report.checks)} limits exceeded)"


BUDGET_NOTE = ("Margin = limit - measured (negative: over). Activations: bytes of every layer's output summed; "
               "depth: layers with parameters on the longest path; FLOPs = 2 x MACs.")


def budget_line(report) -> str:
    """One line: ``googlenet: OVER BUDGET: network MACs 1,582,671,872 > 1,500,000,000 (-5.5 %)``."""
    if report.ok:
        return budget_heading(report)
    over = "; ".join(f"{item.block or 'network'} {QUANTITY_LABELS[item.quantity]} {format_int(item.measured)} > "
                     f"{format_int(item.limit)} ({percent(item.margin_fraction)})" for item in report.failures)
    return f"{report.network}: OVER BUDGET: {over}"


def budget_text(report) -> str:
    """The budget report as a terminal table (also ``str(report)``)."""
    return grid_text(budget_heading(report), BUDGET_HEADER, budget_rows(report), "llrrrrl", [BUDGET_NOTE])


def budget_markdown(report) -> str:
    return markdown_text(budget_heading(report), BUDGET_HEADER, budget_rows(report), "llrrrrl", [BUDGET_NOTE])


def budget_csv(report) -> str:
    return csv_text([item.to_dict() for item in report.checks])


# ---------------------------------------------------------------- fit


def fit_summary(result) -> list[str]:
    """What ``fit`` found, in a few lines (the CLI writes them to stderr, the spec to stdout)."""
    if result.vary == "width":
        found = f"width x{result.value:g} (channels rounded to multiples of {result.divisor})"
    else:
        found = f"input height {result.value}"
    lines = [f"{result.network}: the largest variant within budget is {result.spec.name}: {found}, "
             f"after {result.evaluations} profiles"]
    if result.capped:
        lines.append("the search stopped at its upper bound: the budget allows even more")
    lines += [f"  {item.block or 'network'} {QUANTITY_LABELS[item.quantity]}: "
              f"{_quantity_value(item.quantity, item.measured)} of {_quantity_value(item.quantity, item.limit)}"
              for item in result.report.checks]
    return lines


def fit_yaml(result) -> str:
    """The fitted spec as YAML, headed by comment lines saying how it was found."""
    header = "".join(f"# {line.strip()}\n" for line in fit_summary(result))
    return header + result.to_yaml()

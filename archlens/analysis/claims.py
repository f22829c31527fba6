"""The GoogLeNet paper's quantitative claims, each held against measured figures.

Every claim gets the figure the paper states, the figure archlens measures, a verdict and the
reason. Verdicts: ``holds`` (the measured figure equals the claim), ``holds_within`` (within
:data:`TOLERANCE` of it: the relative deviation says how far), ``does_not_hold`` (further off).
The numbers are never bent to fit: where the paper and the count disagree, the figures that
explain the gap are listed.

>>> [claim.verdict for claim in paper_claims().claims]
['does_not_hold', 'holds_within', 'holds', 'holds_within']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archlens.analysis import paper
from archlens.analysis.table1 import K as TABLE1_K, TABLE1
from archlens.counting.records import Profile
from archlens.tables import Column, Result, Table, Text, Value, View

TOLERANCE = 0.10  # "about 1.5 billion" holds within 10 %; further off does not hold

HOLDS, HOLDS_WITHIN, DOES_NOT_HOLD = "holds", "holds_within", "does_not_hold"

TITLES = {
    "params_vs_alexnet": "12 times fewer parameters than AlexNet",
    "budget_1_5g": "1.5 billion multiply-adds at inference",
    "depth_22_27": "22 layers with parameters, 27 with pooling",
    "building_blocks_100": "about 100 building blocks",
}
"""Each claim in a few words, for a table row."""
FIGURE_UNITS = {"x": "times", "MACs": "count"}
"""How a claim's figures are shown by its unit (any other unit: an exact integer)."""
COLUMNS = (Column("Claim (Szegedy et al. 2014)"), Column("Paper", align="right"), Column("Measured", align="right"),
           Column("Verdict"))


@dataclass(frozen=True, slots=True)
class Figure:
    """A measured or published number behind a verdict: what it is, its value, its unit."""

    label: str
    value: int | float
    unit: str


@dataclass(frozen=True, slots=True)
class ClaimCheck:
    """One claim: the quote, what it states (``claimed``) and what archlens measures (``measured``,
    same order), the verdict, the signed relative deviation of the furthest pair, and why."""

    key: str
    quote: str
    section: str
    claimed: tuple[int | float, ...]
    measured: tuple[int | float, ...]
    unit: str
    verdict: str
    deviation: float
    explanation: Text
    figures: tuple[Figure, ...]

    @property
    def title(self) -> str:
        return TITLES.get(self.key, self.key)

    def verdict_text(self) -> Text:
        """``holds``, ``holds within 5.5 %``, ``does not hold (-27.4 %)``."""
        if self.verdict == HOLDS:
            return Text("holds")
        if self.verdict == HOLDS_WITHIN:
            return Text("holds within {percent:.1f} %", percent=100 * abs(self.deviation))
        return Text("does not hold ({deviation})", deviation=Value(self.deviation, "signed_share"))

    def record(self) -> dict[str, Any]:
        """One flat record: figures as text (``12``, ``22 / 27``), the rest as in :meth:`to_dict`."""
        return {"key": self.key, "claimed": " / ".join(map(str, self.claimed)),
                "measured": " / ".join(str(round(v, 6)) for v in self.measured), "unit": self.unit,
                "verdict": self.verdict, "deviation": round(self.deviation, 6), "explanation": self.explanation}

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "quote": self.quote,
            "section": self.section,
            "claimed": list(self.claimed),
            "measured": [round(v, 6) if isinstance(v, float) else v for v in self.measured],
            "unit": self.unit,
            "verdict": self.verdict,
            "deviation": round(self.deviation, 6),
            "explanation": self.explanation,
            "figures": [{"label": f.label, "value": round(f.value, 6) if isinstance(f.value, float) else f.value,
                         "unit": f.unit} for f in self.figures],
        }


@dataclass(frozen=True)
class ClaimsReport(Result):
    """All checked claims, in the order of the paper's argument."""

    claims: tuple[ClaimCheck, ...]
    tolerance: float = TOLERANCE

    def view(self) -> View:
        """One row a claim (paper, measured, verdict), each claim's reasoning and the verdict rule under it."""
        rows = tuple((c.title, Value(c.claimed, FIGURE_UNITS.get(c.unit, "int")),
                      Value(c.measured, FIGURE_UNITS.get(c.unit, "int")), c.verdict_text()) for c in self.claims)
        notes = tuple(Text("{title}: {explanation}", title=c.title, explanation=c.explanation) for c in self.claims)
        rule = Text("Verdicts: holds = equal; holds within N % = within {tolerance:.0f} % of the claim; does not hold "
                    "= further off (signed deviation = (measured - claimed) / claimed).", tolerance=100 * self.tolerance)
        return View((Table("The GoogLeNet paper's claims, measured", COLUMNS, rows, notes=(*notes, rule)),))

    def records(self) -> list[dict[str, Any]]:
        return [claim.record() for claim in self.claims]

    def to_dict(self) -> dict[str, Any]:
        return {
            "paper": "Szegedy et al., Going deeper with convolutions (arXiv:1409.4842)",
            "tolerance": self.tolerance,
            "verdicts": "holds: equal; holds_within: |deviation| <= tolerance; does_not_hold: further off; "
                        "deviation = (measured - claimed) / claimed",
            "claims": [claim.to_dict() for claim in self.claims],
        }


def verdict(claimed: tuple[int | float, ...], measured: tuple[int | float, ...],
            tolerance: float = TOLERANCE) -> tuple[str, float]:
    """The verdict and the signed relative deviation of the pair furthest apart.

    >>> outcome, deviation = verdict((1.5e9,), (1_582_671_872,))
    >>> outcome, round(deviation, 4)
    ('holds_within', 0.0551)
    """
    deviations = [(m - c) / c for c, m in zip(claimed, measured)]
    furthest = max(deviations, key=abs)
    if all(m == c for c, m in zip(claimed, measured)):
        return HOLDS, 0.0
    return (HOLDS_WITHIN if abs(furthest) <= tolerance else DOES_NOT_HOLD), furthest


def _claim(key: str, quote: str, section: str, claimed: tuple, measured: tuple, unit: str, explanation: Text,
           figures: list[Figure], tolerance: float) -> ClaimCheck:
    outcome, deviation = verdict(claimed, measured, tolerance)
    return ClaimCheck(key, quote, section, claimed, measured, unit, outcome, deviation, explanation, tuple(figures))


def _profiles() -> dict[str, Profile]:
    from archlens.profiler import profile

    names = ("googlenet", "alexnet", "alexnet-torchvision", "googlenet-torchvision")
    found = {name: profile(name) for name in names}
    found["googlenet/train"] = profile("googlenet", train=True)
    return found


def params_claim(p: dict[str, Profile], tolerance: float = TOLERANCE) -> ClaimCheck:
    """"12 times fewer parameters than" AlexNet."""
    google, alex = p["googlenet"].totals.params, p["alexnet"].totals.params
    alex_tv, google_tv = p["alexnet-torchvision"].totals.params, p["googlenet-torchvision"].totals.params
    table_weights = round(sum(row.params_k for row in TABLE1 if row.params_k is not None) * TABLE1_K)
    classifier = sum(layer.params for layer in p["googlenet"].layers if layer.kind == "linear")
    needed = alex / 12
    measured = alex / google
    explanation = Text(
        "Counted exactly, AlexNet as published has {ratio:.2f} times GoogLeNet's parameters ({alex:,} / {google:,}; "
        "{ratio_tv:.2f} with torchvision's AlexNet). Table 1's own params column sums to {table:,} weights, which "
        "gives {ratio_table:.2f}x. 12x is the ratio of the round figures 60 M / 5 M that the authors give in their "
        "2015 follow-up (Rethinking the Inception Architecture); it would need GoogLeNet at {needed:,} parameters, "
        "and even GoogLeNet without its {classifier}-parameter classifier holds {without:,} ({ratio_without:.2f}x).",
        ratio=alex / google, alex=alex, google=google, ratio_tv=alex_tv / google, table=table_weights,
        ratio_table=alex / table_weights, needed=round(needed), classifier=Value(classifier, "short"),
        without=google - classifier, ratio_without=alex / (google - classifier),
    )
    figures = [
        Figure("alexnet (2012) params", alex, "params"),
        Figure("googlenet params", google, "params"),
        Figure("alexnet / googlenet", alex / google, "x"),
        Figure("alexnet-torchvision / googlenet", alex_tv / google, "x"),
        Figure("alexnet-torchvision / googlenet-torchvision", alex_tv / google_tv, "x"),
        Figure("Table 1 params column, summed (K = 1024)", table_weights, "weights"),
        Figure("alexnet / Table 1 sum", alex / table_weights, "x"),
        Figure("googlenet without the classifier", google - classifier, "params"),
        Figure("alexnet / googlenet without the classifier", alex / (google - classifier), "x"),
        Figure("googlenet params that 12x would need", round(needed), "params"),
        Figure("60 M / 5 M (the 2015 follow-up's round figures)",
               paper.ALEXNET_ROUND_FIGURE / paper.LATER_PARAMS_FIGURE, "x"),
    ]
    return _claim("params_vs_alexnet", paper.PARAMS_CLAIM, "section 1", (12,), (measured,), "x",
                  explanation, figures, tolerance)


def budget_claim(p: dict[str, Profile], tolerance: float = TOLERANCE) -> ClaimCheck:
    """"1.5 billion multiply-adds at inference time"."""
    profile = p["googlenet"]
    macs = profile.totals.macs
    table_ops = round(sum(row.ops_m for row in TABLE1 if row.ops_m is not None) * 10**6)
    conv1 = next(row for row in profile.rollup(1) if row.name == "conv1").macs
    printed_conv1 = round(TABLE1[0].ops_m * 10**6)
    claimed = 1_500_000_000
    explanation = Text(
        "GoogLeNet as published costs {macs:,} MACs, {over:.1f} % over 1.5 G. Table 1's ops column sums to "
        "{table:,}, and the gap of {gap} is conv1: 7x7x3x64 filters on 112x112 outputs are {conv1:,} MACs where "
        "Table 1 prints {printed:g} M ({conv1_gap} more); the other rows together differ by {rest}. torchvision's "
        "variant (3x3 in the \"5x5\" branch) costs {torchvision:,}.",
        macs=macs, over=100 * (macs - claimed) / claimed, table=table_ops, gap=Value(macs - table_ops, "short"),
        conv1=conv1, printed=TABLE1[0].ops_m, conv1_gap=Value(conv1 - printed_conv1, "short"),
        rest=Value(macs - table_ops - (conv1 - printed_conv1), "short"),
        torchvision=p["googlenet-torchvision"].totals.macs,
    )
    figures = [
        Figure("googlenet MACs", macs, "MACs"),
        Figure("over 1.5 G", macs - claimed, "MACs"),
        Figure("Table 1 ops column, summed", table_ops, "MACs"),
        Figure("conv1 MACs, computed", conv1, "MACs"),
        Figure("conv1 MACs, Table 1", printed_conv1, "MACs"),
        Figure("googlenet-torchvision MACs", p["googlenet-torchvision"].totals.macs, "MACs"),
    ]
    return _claim("budget_1_5g", paper.BUDGET_CLAIM, "section 1", (claimed,), (macs,), "MACs", explanation,
                  figures, tolerance)


def depth_claim(p: dict[str, Profile], tolerance: float = TOLERANCE) -> ClaimCheck:
    """22 layers with parameters, 27 with pooling."""
    depth = p["googlenet"].depth
    measured = (depth.weighted, depth.with_pooling)
    explanation = Text(
        "On the longest input-to-output path there are {weighted} layers with parameters (the stem's conv1, 1x1 "
        "reduction and conv2, two per Inception module times nine, the classifier) and {pooling} counting the 5 "
        "pooling layers on that path (4 max pools and the average pool). A convolution with its ReLU is one layer.",
        weighted=depth.weighted, pooling=depth.with_pooling,
    )
    figures = [Figure("layers with parameters", depth.weighted, "layers"),
               Figure("layers counting pooling", depth.with_pooling, "layers")]
    return _claim("depth_22_27", paper.DEPTH_CLAIM, "section 5", (22, 27), measured, "layers", explanation,
                  figures, tolerance)


def building_blocks(profile: Profile) -> int:
    """Independent building blocks: layers that compute, a conv or linear layer with its ReLU as one
    block (as in Table 1's depth), reshapes (flatten) not counted; concatenations, pools, LRN,
    dropout and softmax each count."""
    fused = {group.name for group in profile.groups if group.kind in ("conv", "linear")}
    count = 0
    for layer in profile.layers:
        if layer.kind == "flatten":
            continue
        if layer.kind == "relu" and layer.name.rsplit(".", 1)[0] in fused:
            continue
        count += 1
    return count


def blocks_claim(p: dict[str, Profile], tolerance: float = TOLERANCE) -> ClaimCheck:
    """"about 100" independent building blocks."""
    train, infer = p["googlenet/train"], p["googlenet"]
    measured = building_blocks(train)
    explanation = Text(
        "Counting blocks that compute, a convolution or linear layer with its ReLU as one block and flatten not "
        "counted, the network as trained (with its two auxiliary classifiers) has {train} blocks; at inference (no "
        "auxiliary classifiers) {infer}. Counting every module, ReLUs apart, gives {modules_train} "
        "({modules_infer} at inference). As the paper says, the number depends on how layers are counted.",
        train=measured, infer=building_blocks(infer), modules_train=len(train.layers), modules_infer=len(infer.layers),
    )
    figures = [
        Figure("blocks, training (aux classifiers included)", measured, "blocks"),
        Figure("blocks, inference", building_blocks(infer), "blocks"),
        Figure("every module, ReLUs apart, training", len(train.layers), "modules"),
        Figure("every module, ReLUs apart, inference", len(infer.layers), "modules"),
    ]
    return _claim("building_blocks_100", paper.BLOCKS_CLAIM, "section 5", (100,), (measured,), "blocks",
                  explanation, figures, tolerance)


def paper_claims(tolerance: float = TOLERANCE) -> ClaimsReport:
    """Check the GoogLeNet paper's four quantitative claims against the built-in networks."""
    profiles = _profiles()
    return ClaimsReport(
        claims=tuple(check(profiles, tolerance) for check in (params_claim, budget_claim, depth_claim, blocks_claim)),
        tolerance=tolerance,
    )

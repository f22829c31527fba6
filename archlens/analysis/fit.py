"""Fit a design to a budget: the widest (or highest-resolution) variant that stays within it.

``vary="width"`` scales every channel count by a multiplier ``m`` (a multiple of 0.001) and rounds
it to the nearest multiple of ``divisor`` (at least ``divisor``; a layer narrower than ``divisor``
to begin with is rounded to the nearest integer instead): conv ``out``, linear ``out``, Inception's
six numbers, VGG stages' ``out``; a depthwise convolution (one group a channel) scales its groups
with its channels. The last linear layer of the network and of each auxiliary head keeps its width
(the classes). ``vary="resolution"`` scales the input height to a
multiple of ``divisor`` (the width follows the aspect ratio). ``vary="depth"`` scales every
``repeat``'s count by ``m`` (rounded, at least 1): a transformer's layers, a CNN's stages written as
repeats (repeats inside a block's own layers keep theirs).

Every channel count is non-decreasing in ``m``, and parameters, MACs, FLOPs and activations are
non-decreasing in every channel count, so "fits" holds for every multiplier up to some largest one:
bisection over the analytic engine finds it (about 12 profiles). The fitted spec carries the budget
in its ``budget:`` section, so ``archlens check fitted.yaml`` passes with no options.

>>> result = fit("googlenet", max_macs="1.5G")
>>> result.value, result.report.ok
(0.968, True)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from archlens import conventions
from archlens.analysis.budget import (
    LABELS,
    NETWORK,
    BudgetReport,
    Limit,
    block_limits,
    evaluate,
    implied_step,
    merge_limits,
    network_limits,
    spec_limits,
)
from archlens.counting.training import check_precision
from archlens.errors import ArchlensError, BudgetExceeded, ShapeError, SpecError
from archlens.spec.schema import BlockBudget, Budget, NetworkSpec
from archlens.tables import Result, Text, View

VARY = ("width", "resolution", "depth")
MILLI = 1000  # width multipliers are multiples of 1/1000
MAX_WIDTH_MILLI = 64 * MILLI  # the widest variant tried: 64x
MAX_RESOLUTION = 16384  # the largest input height tried
INCEPTION_FIELDS = ("ch1x1", "ch3x3_reduce", "ch3x3", "ch5x5_reduce", "ch5x5", "pool_proj")


@dataclass(frozen=True)
class FitResult(Result):
    """The fitted variant: what was varied, the value found, the spec and its budget check.

    ``value`` is the width multiplier (``0.974``) or the input height (``200``); ``capped`` is True
    when even the largest value tried fits (64x width, 16384 pixels).
    """

    network: str
    vary: str
    value: float | int
    divisor: int
    spec: NetworkSpec
    report: BudgetReport
    evaluations: int
    capped: bool = False

    def found(self) -> Text:
        """``googlenet: the largest variant within budget is googlenet-w0.968: width x0.968 (...), after 12 profiles``."""
        if self.vary == "width":
            how = Text("width x{value:g} (channels rounded to multiples of {divisor})", value=self.value,
                       divisor=self.divisor)
        elif self.vary == "depth":
            how = Text("depth x{value:g} (repeat counts rounded, at least 1)", value=self.value)
        else:
            how = Text("input height {value}", value=self.value)
        return Text("{network}: the largest variant within budget is {name}: {how}, after {evaluations} profiles",
                    network=self.network, name=self.spec.name, how=how, evaluations=self.evaluations)

    def summary(self) -> tuple[Text, ...]:
        """What was found, in a few lines: the variant, whether the search was capped, each limit's use."""
        lines = [self.found()]
        if self.capped:
            lines.append(Text("the search stopped at its upper bound: the budget allows even more"))
        lines += [Text("  {scope} {label}: {measured} of {limit}", scope=item.block or "network",
                       label=LABELS[item.quantity], measured=item.value(item.measured), limit=item.value(item.limit))
                  for item in self.report.checks]
        return tuple(lines)

    def view(self) -> View:
        """The fitted spec's budget check, headed by what was found."""
        capped = self.summary()[1:2] if self.capped else ()
        return View((self.report.table(self.found()),), summary=capped, legend=conventions.BUDGET)

    def records(self) -> list[dict[str, Any]]:
        return self.report.records()

    def to_dict(self) -> dict[str, Any]:
        from archlens.spec import to_file_data

        return {
            "network": self.network,
            "vary": self.vary,
            "value": self.value,
            "divisor": self.divisor,
            "capped": self.capped,
            "evaluations": self.evaluations,
            "check": self.report.to_dict(),
            "spec": to_file_data(self.spec),
        }

    def to_yaml(self, *, header: bool = False) -> str:
        """The fitted spec as YAML, ready for ``archlens profile``/``check``/``build``; with ``header``,
        headed by the summary as comment lines (what ``archlens fit`` writes)."""
        from archlens.spec import dump_yaml

        comments = "".join(yaml_comment(str(line).strip()) for line in self.summary()) if header else ""
        return comments + dump_yaml(self.spec)


# What cannot stand in a YAML comment: a line break of YAML 1.1 (it would end the comment and start a
# key: CR, LF, NEL, LS, PS) and what a YAML reader refuses (other control characters, U+FFFE, U+FFFF,
# lone surrogates); a byte-order mark too, which is invisible.
_NOT_IN_A_COMMENT = re.compile("[^\t\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[\u2028\u2029\ufeff]")


def yaml_comment(line: str) -> str:
    r"""``line`` as one YAML comment line: a character that could end the comment (and inject keys) or
    that a YAML reader refuses is written as its code point, ``\uFFFF``.

    >>> yaml_comment("googlenet\u2028name: evil")
    '# googlenet\\u2028name: evil\n'
    """
    def code(match: re.Match[str]) -> str:
        point = ord(match.group())
        return f"\\u{point:04X}" if point <= 0xFFFF else f"\\U{point:08X}"

    return f"# {_NOT_IN_A_COMMENT.sub(code, line)}\n"


def round_channels(channels: int, milli: int, divisor: int) -> int:
    """``channels x milli / 1000`` to the nearest multiple of ``divisor`` (halves up), at least ``divisor``.
    A layer narrower than ``divisor`` to begin with keeps its own scale (nearest integer, at least 1):
    rounding it up to ``divisor`` would make the "smallest" variant larger than the spec itself.

    Exact integer arithmetic: ``round_channels(64, 750, 8) == 48``, ``round_channels(20, 1000, 8) == 24``,
    ``round_channels(4, 1000, 8) == 4``.
    """
    if channels < divisor:
        return max(1, (2 * channels * milli + MILLI) // (2 * MILLI))
    nearest = (2 * channels * milli + MILLI * divisor) // (2 * MILLI * divisor) * divisor
    return max(divisor, nearest)


def _classifiers(layers: list) -> frozenset[int]:
    """ids of the layers that keep their width: the last linear of ``layers`` and of each aux head."""
    from archlens.layers.walk import iter_layers

    keep: set[int] = set()
    last = None
    for _, layer in iter_layers(layers, into_aux=False):
        if layer.type == "linear":
            last = layer
    if last is not None:
        keep.add(id(last))
    for layer in layers:
        if layer.type == "aux":
            keep |= _classifiers(layer.layers)
    return frozenset(keep)


def width_variant(spec: NetworkSpec, milli: int, divisor: int = 8, *,
                  keep: frozenset[int] | None = None) -> NetworkSpec:
    """``spec`` with every channel count scaled by ``milli / 1000`` and rounded to ``divisor``.

    Each layer type scales its own widths (:meth:`~archlens.layers.base.LayerType.scale_widths`); a
    type that cannot raises :class:`~archlens.layers.base.CannotScale`, saying why.

    >>> from archlens.spec import load_spec
    >>> width_variant(load_spec("googlenet"), 500).layers[0].out   # conv1: 64 -> 32
    32
    """
    from archlens.layers.base import Scaler

    keep = _classifiers(spec.layers) if keep is None else keep

    def scale(channels: int, groups: int) -> int:
        step = divisor * groups // math.gcd(divisor, groups)  # grouped convs need a multiple of groups too
        return round_channels(channels, milli, step)

    scaler = Scaler(scale, multiplier=milli / MILLI, keep=keep, blocks=spec.blocks)
    return spec.model_copy(update={"layers": [layer.scale_widths(scaler) for layer in spec.layers]})


def depth_variant(spec: NetworkSpec, milli: int) -> NetworkSpec:
    """``spec`` with every ``repeat`` count scaled by ``milli / 1000``, to the nearest integer (halves up),
    at least 1.

    >>> from archlens.spec import load_spec
    >>> depth_variant(load_spec("gpt3-175b"), 500).layers[3].times   # 96 layers -> 48
    48
    """
    def depth(times: int) -> int:
        return max(1, (2 * times * milli + MILLI) // (2 * MILLI))

    return spec.model_copy(update={"layers": [layer.scale_depth(depth) for layer in spec.layers]})


def resolution_variant(spec: NetworkSpec, height: int) -> NetworkSpec:
    """``spec`` with input height ``height``; the width keeps the aspect ratio (rounded to a pixel)."""
    width = max(1, round(height * spec.input.width / spec.input.height))
    return spec.model_copy(update={"input": spec.input.model_copy(update={"height": height, "width": width})})


def budget_section(limits: list[Limit]) -> Budget:
    """The limits as a spec's ``budget:`` section."""
    network = {f"max_{limit.quantity}": limit.limit for limit in limits if limit.scope == NETWORK}
    blocks: dict[str, dict[str, int]] = {}
    for limit in limits:
        if limit.scope != NETWORK:
            blocks.setdefault(limit.scope, {})[f"max_{limit.quantity}"] = limit.limit
    return Budget(**network, blocks=[BlockBudget(match=pattern, **values) for pattern, values in blocks.items()])


def _largest(fits: Callable[[int], bool], low: int, start: int, cap: int) -> tuple[int, bool]:
    """The largest ``k`` in ``[low, cap]`` with ``fits(k)``, given ``fits(low)`` and monotony; and whether
    ``cap`` itself fits. ``start`` is the first guess above ``low``."""
    good, bad = low, None
    probe = max(start, low + 1)
    while probe <= cap:
        if not fits(probe):
            bad = probe
            break
        good = probe
        if probe == cap:
            break
        probe = min(cap, probe * 2)
    if bad is None:
        return good, True
    return _boundary(fits, good, bad), False


def _boundary(test: Callable[[int], bool], passing: int, failing: int) -> int:
    """Bisection: given ``test(passing)`` and not ``test(failing)``, the passing ``k`` next to the boundary."""
    while abs(failing - passing) > 1:
        middle = (passing + failing) // 2
        if test(middle):
            passing = middle
        else:
            failing = middle
    return passing


def fit(target: Any, *, vary: str = "width", max_params: "int | str | None" = None,
        max_macs: "int | str | None" = None, max_flops: "int | str | None" = None,
        max_activations: "int | str | None" = None, max_depth: "int | str | None" = None,
        max_train_macs: "int | str | None" = None, max_train_memory: "int | str | None" = None,
        blocks: "Iterable[BlockBudget | Mapping[str, Any]]" = (), divisor: int = 8, train: bool = False,
        batch: int = 1, dtype: str = "float32", step: Any = None, optimizer: str | None = None,
        mixed_precision: bool = False) -> FitResult:
    """The widest (``vary="width"``), largest-input (``vary="resolution"``) or deepest (``vary="depth"``)
    variant of a spec within budget.

    Limits as in :func:`archlens.check` (the spec's ``budget:`` applies too). Raises
    :class:`~archlens.errors.BudgetExceeded` (exit code 1) when even the smallest variant is over.
    ``max_train_macs`` and ``max_train_memory`` hold each variant's training step (``step="train"``,
    implied by them, with ``optimizer`` and ``mixed_precision`` as in :func:`archlens.profile`).
    """
    from archlens.counting.analytic import profile_spec
    from archlens.targets import resolve_spec

    if vary not in VARY:
        raise ArchlensError(f"cannot vary {vary!r}", hint=f"use one of: {', '.join(VARY)}")
    if isinstance(divisor, bool) or not isinstance(divisor, int) or divisor < 1:
        raise ArchlensError(f"divisor must be a positive integer, got {divisor!r}")
    spec = resolve_spec(target, needed_by="fit", hint="a module has no channel numbers to vary").spec
    given = network_limits(max_params=max_params, max_macs=max_macs, max_flops=max_flops,
                           max_activations=max_activations, max_depth=max_depth, max_train_macs=max_train_macs,
                           max_train_memory=max_train_memory) + block_limits(blocks)
    limits = merge_limits(spec_limits(spec.budget), given)
    training = implied_step(limits, step, optimizer=optimizer, mixed_precision=mixed_precision,
                            hint="give --max-train-macs or --max-train-memory: fit holds a training step to them")
    check_precision(training, dtype)
    if not limits:
        raise ArchlensError(f"no budget to fit {spec.name} to",
                            hint="give a limit (--max-macs 1.5G, --max-params 7M, ...) or a budget: section")
    base = spec.model_copy(update={"budget": None})
    keep = _classifiers(base.layers)
    make: Callable[[int], NetworkSpec]
    if vary == "width":
        def make(k: int) -> NetworkSpec:
            return width_variant(base, k, divisor, keep=keep)
    elif vary == "depth":
        def make(k: int) -> NetworkSpec:
            return depth_variant(base, k)
    else:
        def make(k: int) -> NetworkSpec:
            return resolution_variant(base, k * divisor)

    evaluations = 0
    reports: dict[int, BudgetReport | None] = {}
    problems: dict[int, ArchlensError] = {}

    def report_for(k: int) -> BudgetReport | None:
        nonlocal evaluations
        if k not in reports:
            evaluations += 1
            try:
                reports[k] = evaluate(profile_spec(make(k), batch=batch, dtype=dtype, train=train, step=training),
                                      limits)
            except (ShapeError, SpecError) as error:
                # the input is too small for the network, or the widths too narrow for its layers
                # (a width formula reaching 0, channels that groups cannot divide): no variant there
                reports[k] = None
                problems[k] = error
        return reports[k]

    def fits(k: int) -> bool:
        report = report_for(k)
        return report is not None and report.ok

    if vary == "depth":
        if depth_variant(base, 2 * MILLI) == base:
            raise ArchlensError(f"{spec.name} has no repeat whose count fit could scale",
                                hint="--vary depth scales the counts of repeat layers (a transformer's blocks); "
                                     "try --vary width")
        start, cap, low = MILLI, MAX_WIDTH_MILLI, 1
        if report_for(low) is None:
            raise problems[low]
    elif vary == "width":
        start, cap = MILLI, MAX_WIDTH_MILLI
        # usually every width is valid; otherwise the narrowest valid one is searched for
        low = 1 if report_for(1) is not None else _smallest_valid(lambda k: report_for(k) is not None, MILLI)
        if low is None:
            raise _width_refusal(problems[MILLI], MILLI, divisor)
    else:
        cap = MAX_RESOLUTION // divisor
        low = _smallest_valid(lambda k: report_for(k) is not None, cap)
        if low is None:
            raise ShapeError(f"no input height up to {MAX_RESOLUTION} fits {spec.name}'s layers", where=spec.name)
        start = max(low + 1, spec.input.height // divisor)
    if not fits(low):
        if vary == "depth":
            smallest = "every repeat once"
        elif vary == "width":
            smallest = (f"every channel count at {divisor}" if low == 1
                        else f"width x{low / MILLI:g}, the narrowest whose layers fit together")
        else:
            smallest = f"input height {low * divisor}, the smallest its layers accept"
        over = "; ".join(f"{item.block or 'network'} {item.quantity} {item.measured:,} > {item.limit:,}"
                         for item in report_for(low).failures)
        raise BudgetExceeded(f"even the smallest variant of {spec.name} ({smallest}) is over budget: {over}")
    best, capped = _largest(fits, low, start, cap)
    value: float | int = best * divisor if vary == "resolution" else best / MILLI
    fitted = make(best)
    label = {"width": f"w{value:g}", "depth": f"d{value:g}", "resolution": f"r{value}"}[vary]
    how = {"width": f"width x{value:g}, channels rounded to multiples of {divisor}",
           "depth": f"depth x{value:g}, repeat counts rounded",
           "resolution": f"input height {value}"}[vary]
    metadata = spec.metadata
    if metadata is not None and (metadata.accuracy is not None or metadata.reference is not None):
        # a published accuracy, and the published figures, are not the variant's
        metadata = metadata.model_copy(update={"accuracy": None, "reference": None})
    fitted = fitted.model_copy(update={
        "metadata": metadata,
        "name": f"{spec.name[:_name_length() - len(label) - 1]}-{label}",  # as long as a name may be, no longer
        "description": f"{spec.name} fitted to a budget by archlens fit ({how}).",
        "budget": budget_section(limits),
    })
    # the check `archlens check fitted.yaml` makes: the fitted spec against its own budget section
    report = evaluate(profile_spec(fitted, batch=batch, dtype=dtype, train=train, step=training),
                      spec_limits(fitted.budget))
    return FitResult(network=spec.name, vary=vary, value=value, divisor=divisor, spec=fitted,
                     report=report, evaluations=evaluations, capped=capped)


def _name_length() -> int:
    """The longest network name a spec may have (the schema's limit)."""
    import annotated_types

    return next(item.max_length for item in NetworkSpec.model_fields["name"].metadata
                if isinstance(item, annotated_types.MaxLen))


def _width_refusal(error: ArchlensError, milli: int, divisor: int) -> ArchlensError:
    """No width variant fits together (not even the spec's own widths once rounded to ``divisor``): say
    so, and what to do about groups."""
    hint = error.hint
    if "groups=" in error.message or "cannot be split" in error.message:
        hint = (f"channel counts are rounded to multiples of --divisor {divisor}; choose a divisor that is a "
                "multiple of the layer's groups (or parts)")
    return ShapeError(f"at width x{milli / MILLI:g}: {error.message}", where=error.where, hint=hint)


def _smallest_valid(valid: Callable[[int], bool], cap: int) -> int | None:
    """The smallest ``k`` in ``[1, cap]`` with ``valid(k)``, by bisection (valid sizes are taken as an
    upward-closed range; a width above it that is not valid, which grouped layers can make, counts as
    not fitting)."""
    if not valid(cap):
        return None
    return _boundary(lambda k: k > 0 and valid(k), cap, 0)

"""Budgets: hold a network to limits on parameters, MACs, FLOPs, activations and depth.

A budget comes from keyword arguments (the CLI's ``--max-*`` options), from the spec's ``budget:``
section, or both: a limit given as an argument replaces the spec's limit on the same quantity;
block limits from both apply. What each limit measures:

* ``params``: parameters (weights and biases); ``macs``: conv/linear/matmul multiply-accumulates;
  ``flops``: 2 x MACs.
* ``activations``: ``Profile.totals.activation_bytes``, the bytes of every layer's output summed
  (dtype float32 unless asked otherwise); a limit like ``64MB`` is 64,000,000 bytes, ``64MiB`` is
  67,108,864.
* ``depth``: layers with parameters on the longest input-to-output path (GoogLeNet: 22).
* ``train_macs``: a training step's MACs (forward, backward and any recomputed forward: ``Profile.step.macs``);
  ``train_memory``: the bytes at a training step's peak (``Profile.step.peak``). Either limit profiles a
  training step (AdamW unless another optimizer is given).

A block limit applies to every block whose name matches a shell-style pattern (``inception_*``).
A pattern matches names with as many dot-separated levels as it has: ``inception_*`` matches
``inception_3a`` but not ``inception_3a.branch_1x1``; ``inception_*.branch_*`` matches the branches.
A pattern that matches nothing is an error, so a typo cannot pass a budget silently.

>>> import archlens
>>> result = archlens.check("googlenet", max_params="7M", max_macs="1.6G")
>>> result.ok
True
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from archlens import conventions
from archlens.analysis.compare import not_counted, not_counted_text
from archlens.counting.records import Profile
from archlens.errors import ArchlensError, did_you_mean
from archlens.spec.schema import BlockBudget, Budget
from archlens.tables import Column, Result, Table, Text, Value, View
from archlens.units import parse_quantity

# The quantities a limit can hold, in report order. Blocks have no depth limit.
QUANTITIES = ("params", "macs", "flops", "activations", "depth", "train_macs", "train_memory")
BLOCK_QUANTITIES = ("params", "macs", "flops", "activations")
UNITS = {"params": "parameters", "macs": "MACs", "flops": "FLOPs", "activations": "bytes", "depth": "layers",
         "train_macs": "MACs", "train_memory": "bytes"}
LABELS = {"params": "params", "macs": "MACs", "flops": "FLOPs", "activations": "activations", "depth": "depth (layers)",
          "train_macs": "training-step MACs", "train_memory": "training-step peak memory"}
"""How a quantity is named in a table or a sentence."""
VALUE_UNITS = {"params": "count", "macs": "count", "flops": "count", "activations": "exact_bytes", "depth": "plain",
               "train_macs": "count", "train_memory": "exact_bytes"}
"""How a limit, a measured value or a margin of each quantity is shown (:class:`archlens.tables.Value`)."""
KINDS = {"params": "count", "macs": "count", "flops": "count", "activations": "bytes", "depth": "count",
         "train_macs": "count", "train_memory": "bytes"}
"""What a limit's number is (:func:`archlens.units.parse_quantity`): activations and memory are bytes; a
byte unit on a count (``--max-macs 64MiB``) is refused."""
TRAINING_QUANTITIES = ("train_macs", "train_memory")
"""The quantities measured on a training step."""
COLUMNS = (Column("Scope"), Column("Limit on"), Column("Limit", align="right"), Column("Measured", align="right"),
           Column("Margin", align="right"), Column("Margin %", "signed_share", "right"), Column("Status"))

NETWORK = ""  # the scope of a whole-network limit


@dataclass(frozen=True, slots=True)
class Limit:
    """One limit: ``quantity`` of ``scope`` (a block pattern, or the whole network) at most ``limit``.

    ``source`` says where it came from: ``argument`` (or CLI option) or ``spec``.
    """

    quantity: str
    limit: int
    scope: str = NETWORK
    source: str = "argument"


@dataclass(frozen=True, slots=True)
class LimitCheck:
    """A limit held against one measured value.

    ``block`` is the block measured (empty for the whole network); ``pattern`` the block pattern
    the limit was written for. ``margin`` is ``limit - measured``: negative when over.
    """

    quantity: str
    limit: int
    measured: int
    block: str = NETWORK
    pattern: str = NETWORK
    source: str = "argument"

    @property
    def ok(self) -> bool:
        return self.measured <= self.limit

    @property
    def margin(self) -> int:
        return self.limit - self.measured

    @property
    def margin_fraction(self) -> float | None:
        """``margin / limit`` (0.1: 10 % headroom; -0.05: 5 % over); None for a zero limit."""
        return self.margin / self.limit if self.limit else None

    def value(self, number: int) -> Value:
        """``number`` (the limit, the measured value or the margin) in this limit's unit."""
        return Value(number, VALUE_UNITS[self.quantity])

    def to_dict(self) -> dict[str, Any]:
        return {
            "scope": self.block or "network",
            "pattern": self.pattern or None,
            "quantity": self.quantity,
            "unit": UNITS[self.quantity],
            "limit": self.limit,
            "measured": self.measured,
            "margin": self.margin,
            "margin_fraction": None if self.margin_fraction is None else round(self.margin_fraction, 6),
            "ok": self.ok,
            "source": self.source,
        }


@dataclass(frozen=True, repr=False)
class BudgetReport(Result):
    """The result of :func:`check`: every limit with its measured value; ``ok`` when all hold.

    ``str(report)`` is a readable table; ``repr(report)`` one line naming what is over, so pytest's
    ``assert report.ok, report`` says why (``assert report.ok, str(report)`` shows the table).
    """

    network: str
    checks: tuple[LimitCheck, ...]
    not_counted: tuple[tuple[str, int], ...] = ()
    """Ops the engine saw and could not count: the measured figures may be too low by what they do."""
    training: Any = None
    """The training step measured (:class:`~archlens.counting.training.TrainingStep`), or None: inference."""

    @property
    def ok(self) -> bool:
        return all(item.ok for item in self.checks)

    @property
    def failures(self) -> tuple[LimitCheck, ...]:
        return tuple(item for item in self.checks if not item.ok)

    def __bool__(self) -> bool:  # a report is truthy when within budget
        return self.ok

    def __repr__(self) -> str:
        return str(self.line())

    def heading(self) -> Text:
        """``googlenet: within budget (3 limits)`` or ``googlenet: OVER BUDGET (1 of 3 limits exceeded)``."""
        if self.ok:
            count = len(self.checks)
            return Text("{network}: within budget ({count} limit{s})", network=self.network, count=count,
                        s="s" if count != 1 else "")
        return Text("{network}: OVER BUDGET ({over} of {count} limits exceeded)", network=self.network,
                    over=len(self.failures), count=len(self.checks))

    def line(self) -> Text:
        """One line: ``googlenet: OVER BUDGET: network MACs 1,582,671,872 > 1,500,000,000 (-5.5 %)``."""
        if self.ok:
            return self.heading()
        parts, values = [], {"network": self.network}
        for index, item in enumerate(self.failures):
            parts.append(f"{{scope{index}}} {{label{index}}} {{measured{index}:,}} > {{limit{index}:,}} "
                         f"({{margin{index}}})")
            values.update({f"scope{index}": item.block or "network", f"label{index}": LABELS[item.quantity],
                           f"measured{index}": item.measured, f"limit{index}": item.limit,
                           f"margin{index}": Value(item.margin_fraction, "signed_share")})
        return Text("{network}: OVER BUDGET: " + "; ".join(parts), **values)

    def table(self, title: Text | None = None) -> Table:
        """Every limit: scope, quantity, limit, measured value, margin and status."""
        rows = tuple((item.block or "network", LABELS[item.quantity], item.value(item.limit), item.value(item.measured),
                      item.value(item.margin), Value(item.margin_fraction, "signed_share"), "ok" if item.ok else "OVER")
                     for item in self.checks)
        return Table(title or self.heading(), COLUMNS, rows)

    def view(self) -> View:
        missing = (not_counted_text(self.network, self.not_counted),) if self.not_counted else ()
        if self.training is not None:
            missing = (Text("Measured on a training step: {options}", options=self.training.describe()),) + missing
        legend = conventions.BUDGET
        if any(item.quantity in TRAINING_QUANTITIES for item in self.checks):
            legend = f"{legend} {conventions.BUDGET_TRAINING}"
        return View((self.table(),), summary=missing, legend=legend)

    def records(self) -> list[dict[str, Any]]:
        return [item.to_dict() for item in self.checks]

    def to_dict(self) -> dict[str, Any]:
        step = {} if self.training is None else {"training": self.training.to_dict()}
        return {"network": self.network, "ok": self.ok, "checks": self.records(), **step,
                "not_counted": [{"op": op, "count": times} for op, times in self.not_counted]}


def measured_value(profile: Profile, quantity: str) -> int:
    """The network-wide figure a ``quantity`` limit is held against."""
    totals = profile.totals
    if quantity == "activations":
        return totals.activation_bytes
    if quantity == "depth":
        if profile.depth is None:
            raise ArchlensError(f"the {profile.engine} engine gives no depth figures for {profile.name}",
                                hint="drop --max-depth, or profile a spec")
        return profile.depth.weighted
    if quantity in TRAINING_QUANTITIES:
        if profile.step is None:
            raise ArchlensError(f"a limit on {LABELS[quantity]} needs a training step", hint="add --step train")
        return profile.step.macs if quantity == "train_macs" else profile.step.peak
    return getattr(totals, quantity)


def network_limits(*, max_params: "int | str | None" = None, max_macs: "int | str | None" = None,
                   max_flops: "int | str | None" = None, max_activations: "int | str | None" = None,
                   max_depth: "int | str | None" = None, max_train_macs: "int | str | None" = None,
                   max_train_memory: "int | str | None" = None, source: str = "argument",
                   prefix: str = "max_") -> list[Limit]:
    """Whole-network limits from keyword values (``"1.5G"``, ``7_000_000``); None means no limit."""
    values = {"params": max_params, "macs": max_macs, "flops": max_flops, "activations": max_activations,
              "depth": max_depth, "train_macs": max_train_macs, "train_memory": max_train_memory}
    return [Limit(quantity, parse_quantity(value, what=f"{prefix}{quantity}", kind=KINDS[quantity]), NETWORK, source)
            for quantity, value in values.items() if value is not None]


def _block_problem(error: Exception) -> str:
    """One line for a block budget that does not validate (pydantic's own text spans several)."""
    from pydantic import ValidationError

    needs = "a block budget needs 'match' and max_params/max_macs/max_flops/max_activations"
    if not isinstance(error, ValidationError):
        return f"{needs} ({error})"
    items = error.errors(include_url=False)
    item = next((i for i in items if not i["type"].endswith("_type")), items[0])
    field = str(item["loc"][0]) if item["loc"] else "block"
    if item["type"] in ("missing", "extra_forbidden"):
        return f"{needs} ({field}: {item['msg'].lower()})"
    return f"{field}: {item['msg'].removeprefix('Value error, ')}"


def block_limits(blocks: "Iterable[BlockBudget | Mapping[str, Any]]", *, source: str = "argument",
                 where: str = "blocks") -> list[Limit]:
    """Limits per block pattern, from :class:`BlockBudget` objects or mappings like theirs."""
    limits = []
    for index, block in enumerate(blocks):
        if not isinstance(block, BlockBudget):
            try:
                block = BlockBudget.model_validate(dict(block))
            except (TypeError, ValueError) as error:
                raise ArchlensError(_block_problem(error), where=f"{where}[{index}]") from None
        found = False
        for quantity in BLOCK_QUANTITIES:
            value = getattr(block, f"max_{quantity}")
            if value is not None:
                found = True
                what = f"{where}[{index}] ({block.match}) max_{quantity}"
                limits.append(Limit(quantity, parse_quantity(value, what=what, kind=KINDS[quantity]), block.match,
                                    source))
        if not found:
            raise ArchlensError(f"block budget {block.match!r} sets no limit", where=f"{where}[{index}]",
                                hint="add max_params, max_macs, max_flops or max_activations")
    return limits


def spec_limits(budget: Budget | None) -> list[Limit]:
    """The limits of a spec's ``budget:`` section."""
    if budget is None:
        return []
    limits = network_limits(max_params=budget.max_params, max_macs=budget.max_macs, max_flops=budget.max_flops,
                            max_activations=budget.max_activations, max_depth=budget.max_depth,
                            max_train_macs=budget.max_train_macs, max_train_memory=budget.max_train_memory,
                            source="spec", prefix="budget.max_")
    return limits + block_limits(budget.blocks, source="spec", where="budget.blocks")


def merge_limits(from_spec: list[Limit], given: list[Limit]) -> list[Limit]:
    """Given limits replace the spec's limit on the same quantity and scope, in the spec limit's place
    (a table keeps its order whatever the command line overrides); the other given limits follow.

    >>> spec = [Limit("params", 7, source="spec"), Limit("macs", 2, source="spec"), Limit("depth", 22, source="spec")]
    >>> [(l.quantity, l.limit, l.source) for l in merge_limits(spec, [Limit("flops", 3), Limit("macs", 1)])]
    [('params', 7, 'spec'), ('macs', 1, 'argument'), ('depth', 22, 'spec'), ('flops', 3, 'argument')]
    """
    by_key = {(limit.scope, limit.quantity): limit for limit in given}
    merged = [by_key.pop((limit.scope, limit.quantity), limit) for limit in from_spec]
    return merged + [limit for limit in given if (limit.scope, limit.quantity) in by_key]


def evaluate(profile: Profile, limits: Iterable[Limit]) -> BudgetReport:
    """Hold ``profile`` to ``limits``: one :class:`LimitCheck` per network limit and per matched block."""
    checks: list[LimitCheck] = []
    block_rows: dict[int, tuple] = {}
    for limit in limits:
        if limit.scope == NETWORK:
            checks.append(LimitCheck(limit.quantity, limit.limit, measured_value(profile, limit.quantity),
                                     source=limit.source))
            continue
        level = limit.scope.count(".")
        if level not in block_rows:
            block_rows[level] = tuple(row for row in profile.rollup(level + 1) if row.name.count(".") == level)
        matched = [row for row in block_rows[level] if fnmatch.fnmatchcase(row.name, limit.scope)]
        if not matched:
            names = [row.name for row in block_rows[level]]
            sample = ", ".join(names[:8]) + (" ..." if len(names) > 8 else "")
            guess = None if any(c in limit.scope for c in "*?[") else did_you_mean(limit.scope, names)
            hint = guess or (f"blocks at this level: {sample}" if names else "the network has no blocks at this level")
            raise ArchlensError(f"block pattern {limit.scope!r} matches no block of {profile.name}",
                                where=f"budget ({limit.source})", hint=hint)
        for row in matched:
            measured = row.activation_bytes if limit.quantity == "activations" else getattr(row, limit.quantity)
            checks.append(LimitCheck(limit.quantity, limit.limit, measured, row.name, limit.scope, limit.source))
    return BudgetReport(network=profile.name, checks=tuple(checks), not_counted=not_counted(profile),
                        training=profile.training)


def check(target: Any, *, max_params: "int | str | None" = None, max_macs: "int | str | None" = None,
          max_flops: "int | str | None" = None, max_activations: "int | str | None" = None,
          max_depth: "int | str | None" = None, max_train_macs: "int | str | None" = None,
          max_train_memory: "int | str | None" = None, blocks: "Iterable[BlockBudget | Mapping[str, Any]]" = (),
          train: bool = False, batch: int | None = None, dtype: str = "float32", engine: str | None = None,
          input_shape: tuple[int, ...] | None = None, tokens: int | None = None,
          decode: int | None = None, inputs: Any = None, device: str = "meta", strict: bool = False,
          step: Any = None, optimizer: str | None = None, mixed_precision: bool = False,
          freeze: "Iterable[str] | str" = (), checkpoint: "Iterable[str] | str" = ()) -> BudgetReport:
    """Hold ``target`` (a built-in name, spec file, spec, or module) to a budget.

    >>> import archlens
    >>> report = archlens.check("googlenet", max_macs="1.5G")
    >>> report.ok, report.checks[0].measured
    (False, 1582671872)

    Limits take exact integers or quantities (``"7M"``, ``"1.5G"``, ``"64MiB"``). The spec's
    ``budget:`` section applies too; an argument replaces the spec's limit on the same quantity.
    With no limit at all this is an :class:`~archlens.errors.ArchlensError`. ``input_shape``
    (N, C, H, W) replaces a spec's input and is what a module target runs on (as in :func:`archlens.profile`);
    ``tokens`` and ``decode`` apply to token inputs, as there; ``inputs`` and ``device`` to modules.
    Ops the engine could not count are listed with the report (``strict``: an error, exit 2, instead).
    ``max_train_macs`` and ``max_train_memory`` hold a training step (``step="train"``, implied by them; its
    options as :func:`archlens.profile` takes them):

    >>> archlens.check("resnet50", batch=32, max_train_memory="24GiB").ok
    True
    """
    from archlens.profiler import check_engine, profile_target, require_counted
    from archlens.targets import SpecTarget, TargetOptions, resolve

    check_engine(engine)
    resolved = resolve(target, TargetOptions(input_shape=input_shape, batch=batch, train=train, tokens=tokens,
                                             decode=decode, inputs=inputs, device=device))
    spec = resolved.spec if isinstance(resolved, SpecTarget) else None
    given = network_limits(max_params=max_params, max_macs=max_macs, max_flops=max_flops,
                           max_activations=max_activations, max_depth=max_depth, max_train_macs=max_train_macs,
                           max_train_memory=max_train_memory) + block_limits(blocks)
    limits = merge_limits(spec_limits(spec.budget) if spec is not None else [], given)
    training = implied_step(limits, step, optimizer=optimizer, mixed_precision=mixed_precision, freeze=freeze,
                            checkpoint=checkpoint)
    if not limits:
        name = spec.name if spec is not None else resolved.label or str(target)
        raise ArchlensError(
            f"no budget for {name}",
            hint="give a limit (--max-params 7M, --max-macs 1.5G, ...) or add a budget: section to the spec",
        )
    measured = profile_target(resolved, engine=engine, dtype=dtype, step=training)
    if strict:
        require_counted(measured)
    return evaluate(measured, limits)


def implied_step(limits: Iterable[Limit], step: Any = None, *, hint: str = "add --step train", **options: Any) -> Any:
    """The training step a check or a fit profiles: ``step`` as given, or ``"train"`` when a limit holds a
    training step's figures (:data:`TRAINING_QUANTITIES`), with ``options`` (optimizer, precision ...);
    ``hint`` says how to ask for a step when an option needs one and none is implied."""
    from archlens.counting.training import training_step

    if step is None and any(limit.quantity in TRAINING_QUANTITIES for limit in limits):
        step = "train"
    if step is None:
        given = [name for name, value in options.items() if value]
        if given:
            raise ArchlensError(f"--{given[0].replace('_', '-')} applies to a training step", hint=hint)
    return training_step(step, **options)


def parse_block_option(text: str) -> dict[str, str]:
    """``"inception_*:macs=200M,params=1M"`` -> ``{"match": "inception_*", "max_macs": "200M", ...}``.

    The form of the CLI's ``--block`` option; the values are parsed later, with the other limits.
    """
    pattern, colon, rest = text.rpartition(":")
    hint = "write it like --block 'inception_*:macs=200M' (limits: params, macs, flops, activations)"
    if not colon or not pattern or not rest:
        raise ArchlensError(f"--block {text!r} needs a pattern and limits", hint=hint)
    block: dict[str, str] = {"match": pattern}
    for item in rest.split(","):
        quantity, equals, value = item.strip().partition("=")
        quantity = quantity.strip().removeprefix("max_")
        if not equals or quantity not in BLOCK_QUANTITIES or not value.strip():
            raise ArchlensError(f"--block {text!r}: cannot read {item.strip()!r}", hint=hint)
        block[f"max_{quantity}"] = value.strip()
    return block

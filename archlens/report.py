"""Reports: everything a report or a drawing shows about one or several networks, gathered as data.

:func:`build_report` profiles each target and collects the analyses that apply: the comparison
(several networks), a layer-by-layer diff of the first network with each related one (variants of
one design: :func:`archlens.analysis.diff.related`), the Inception study (a network with Inception
modules), the GoogLeNet paper's Table 1 and claims (when ``googlenet`` is among the targets) and
budget checks (limits given, or in the specs). :func:`profile_targets` profiles what ``archlens graph`` draws. Rendering is
separate, and never profiles: :mod:`archlens.render.html` and :mod:`archlens.render.markdown_report`
turn a :class:`Report` into pages, :mod:`archlens.render.graph` a profile into a graph.

>>> report = build_report(["googlenet", "alexnet"])
>>> [n.profile.name for n in report.networks], report.comparison.baseline.name
(['googlenet', 'alexnet'], 'googlenet')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from archlens.counting.records import Profile
from archlens.errors import ArchlensError

# The network whose paper Table 1 and claims a report reproduces.
PAPER_NETWORK = "googlenet"


@dataclass(frozen=True)
class Profiled:
    """A target's profile and the spec it came from (what a graph is drawn from)."""

    target: str
    profile: Profile
    spec: Any = None             # archlens.spec.NetworkSpec with the input applied; None for a module


@dataclass(frozen=True)
class NetworkSection:
    """One network: its profile, its spec, and the analyses that concern it alone."""

    target: str
    profile: Profile
    spec: Any                    # archlens.spec.NetworkSpec with the input applied; None for a module
    description: str
    table1: Any = None           # archlens.analysis.table1.Table1, for GoogLeNet
    budget: Any = None           # archlens.analysis.budget.BudgetReport, when limits apply


@dataclass(frozen=True)
class Report:
    """What a report shows. ``comparison`` is None for one network."""

    title: str
    networks: tuple[NetworkSection, ...]
    comparison: Any = None       # archlens.analysis.compare.Comparison
    diffs: tuple[Any, ...] = ()  # archlens.analysis.diff.Diff: the first network against each related one
    inception: Any = None        # archlens.analysis.inception.InceptionStudy
    claims: Any = None           # archlens.analysis.claims.ClaimsReport
    train: bool = False
    module_variants: tuple[Profiled, ...] = ()
    training: Any = None         # archlens.counting.training.TrainingStep: every network on a training step  # the studied network, reduced and naive, to draw a module

    @property
    def single(self) -> bool:
        return len(self.networks) == 1

    @property
    def budgets(self) -> list[Any]:
        return [section.budget for section in self.networks if section.budget is not None]


def profile_targets(targets: Sequence[Any], *, train: bool = False, engine: str | None = None,
                    input_shape: tuple[int, ...] | None = None, inputs: Any = None, device: str = "meta",
                    strict: bool = False, step: Any = None, dtype: str = "float32") -> list[Profiled]:
    """Profile each target (as :func:`archlens.profile` does) and keep its spec: what ``archlens graph`` draws.

    >>> [item.profile.input_shape for item in profile_targets(["alexnet", "vgg11"], input_shape=(1, 3, 112, 112))]
    [(1, 3, 112, 112), (1, 3, 112, 112)]
    """
    from archlens.profiler import check_engine, profile_target, require_counted
    from archlens.targets import SpecTarget, TargetOptions, resolve

    check_engine(engine)
    options = TargetOptions(input_shape=input_shape, train=train, inputs=inputs, device=device)
    profiled = []
    for target in targets:
        resolved = resolve(target, options)
        spec = resolved.spec if isinstance(resolved, SpecTarget) else None
        result = profile_target(resolved, engine=engine, step=step, dtype=dtype)
        profiled.append(Profiled(str(target), require_counted(result) if strict else result, spec))
    return profiled


def build_report(targets: Sequence[Any], *, title: str | None = None, train: bool = False,
                 limits: dict[str, Any] | None = None, engine: str | None = None,
                 input_shape: tuple[int, ...] | None = None, inputs: Any = None, device: str = "meta",
                 dtype: str = "float32", strict: bool = False, progress: Callable[[str], None] | None = None, step_kind: Any = None,
                 optimizer: str | None = None, mixed_precision: bool = False,
                 freeze: "Sequence[str] | str" = (), checkpoint: "Sequence[str] | str" = ()) -> Report:
    """Profile ``targets`` and gather every analysis that applies to them.

    ``limits`` holds budget limits by keyword (``{"max_macs": "1.5G"}``), applied to every
    network on top of each spec's own ``budget:``. ``progress`` is called with a short step name
    before each step (the CLI draws a progress bar with it); library code never prints.
    ``engine``, ``input_shape``, ``inputs``, ``device`` and ``strict`` mean what they mean for
    :func:`archlens.profile`: the input shape replaces every spec's input and is what a module
    target runs on; ``strict`` refuses a network with ops no formula counts. ``step_kind="train"`` (and its
    options, as there; ``step_kind``, as ``progress`` is called ``step``) profiles every network on a training step: backward MACs, optimizer, memory.
    """
    from archlens.counting.training import training_step

    from archlens.analysis.budget import evaluate, merge_limits, network_limits, spec_limits

    targets = list(targets)
    if not targets:
        raise ArchlensError("nothing to report", hint="name at least one network, e.g. googlenet alexnet vgg16")
    step = progress or (lambda _name: None)
    given = network_limits(**(limits or {}))
    training = training_step(step_kind, optimizer=optimizer, mixed_precision=mixed_precision, freeze=freeze,
                             checkpoint=checkpoint)
    train = train or training is not None
    sections = []
    for target in targets:
        step(f"profile {target}")
        (profiled,) = profile_targets([target], train=train, engine=engine, input_shape=input_shape, inputs=inputs,
                                      device=device, strict=strict, step=training, dtype=dtype)
        result, spec = profiled.profile, profiled.spec
        budget_limits = merge_limits(spec_limits(spec.budget) if spec is not None else [], given)
        table1 = None
        if spec is not None and spec.name == PAPER_NETWORK:
            from archlens.analysis.table1 import reproduce_table1

            table1 = reproduce_table1(spec)
        sections.append(NetworkSection(
            target=str(target),
            profile=result,
            spec=spec,
            description=spec.description if spec is not None else "",
            table1=table1,
            budget=evaluate(result, budget_limits) if budget_limits else None,
        ))
    comparison = inception = claims = None
    module_variants: tuple[Profiled, ...] = ()
    if len(sections) > 1:
        from archlens.analysis.compare import Comparison, NetworkFigures

        step("compare")
        comparison = Comparison(tuple(NetworkFigures.from_profile(s.profile) for s in sections), train=train,
                                optimizer=training.optimizer if training is not None else None, training=training)
    diffs: tuple[Any, ...] = ()
    if len(sections) > 1:
        from archlens.analysis.diff import diff_profiles, related

        base = sections[0].profile
        others = [s.profile for s in sections[1:] if related(base, s.profile)]
        if others:
            step("diff")
        diffs = tuple(diff_profiles(base, other) for other in others)
    with_modules = [s for s in sections if any(g.kind == "inception" for g in s.profile.groups)]
    if with_modules and with_modules[0].spec is not None:
        from archlens.analysis.inception import inception_study

        from archlens.analysis.inception import naive_variant, reduced_variant
        from archlens.counting.analytic import profile_spec

        step("inception study")
        inception = inception_study(with_modules[0].spec)
        reduced = reduced_variant(with_modules[0].spec)
        module_variants = tuple(Profiled(spec.name, profile_spec(spec), spec)
                                for spec in (reduced, naive_variant(reduced)))
    if any(s.profile.name == PAPER_NETWORK for s in sections):
        from archlens.analysis.claims import paper_claims

        step("paper claims")
        claims = paper_claims()
    names = [s.profile.name for s in sections]
    default_title = names[0] if len(names) == 1 else " vs ".join(names)
    return Report(title=title or default_title, networks=tuple(sections), comparison=comparison, diffs=diffs,
                  inception=inception, claims=claims, train=train, module_variants=module_variants,
                  training=training)

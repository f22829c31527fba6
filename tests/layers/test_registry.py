"""Every registered layer type, on random valid instances (hypothesis, fixed seed):

- the analytic engine and the torch engine on the built module agree on every record, group,
  roll-up, depth and total, in inference and in training mode and for a training step (backward ops,
  saved activations, memory), with nothing left uncounted;
- the built module runs on CPU and gives the shape and parameter count the walk inferred;
- ``show`` output (the expanded spec) loads back as the same network;
- ``archlens fit`` scales it, or refuses plainly (``CannotScale``), and the variant profiles.
"""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings

import archlens
from archlens.analysis.fit import width_variant
from archlens.counting.analytic import profile_spec
from archlens.counting.training import TrainingStep
from archlens.counting.torch_engine import profile_module
from archlens.layers import LAYER_TYPES
from archlens.errors import ShapeError
from archlens.layers.base import CannotScale
from archlens.profiler import spec_inputs
from archlens.spec import dump_yaml, expand, load_spec

from ..hardening.strategies import examples
from .strategies import LAYER_EXAMPLES, spec_with

torch = pytest.importorskip("torch")

TYPES = sorted(LAYER_TYPES)


def test_every_registered_type_has_random_examples():
    assert sorted(LAYER_EXAMPLES) == TYPES


def engines_agree(spec, train: bool, step: TrainingStep | None = None) -> None:
    """Both engines give the same records (a training step's figures too, with ``step``)."""
    train = train or step is not None
    batch = 2 if train else 1  # training-mode BatchNorm needs more than one value per channel
    analytic = profile_spec(spec, train=train, batch=batch, step=step)
    module = archlens.build(spec, device="meta", train=train)
    measured = profile_module(module, **spec_inputs(spec, batch), train=train, name=spec.name, step=step)
    assert measured.unsupported == ()
    assert [layer.name for layer in measured.layers] == [layer.name for layer in analytic.layers]
    for ours, theirs in zip(measured.layers, analytic.layers):
        assert ours == theirs, ours.name
    assert measured.groups == analytic.groups
    assert measured.rollup(1) == analytic.rollup(1)
    assert measured.depth == analytic.depth
    assert measured.totals == analytic.totals
    assert measured.step == analytic.step


@pytest.mark.parametrize("kind", TYPES)
def test_engines_agree_build_runs_and_show_round_trips(kind):
    @settings(max_examples=examples(8))
    @given(data=spec_with(kind))
    def check(data):
        spec = load_spec(data)
        for train in (False, True):
            engines_agree(spec, train)
        engines_agree(spec, True, TrainingStep())  # a training step: backward, what autograd keeps
        analytic = profile_spec(spec)
        network = archlens.build(spec)
        assert sum(p.numel() for p in network.parameters()) == analytic.totals.params
        with torch.no_grad():
            if spec.input.kind == "ids":  # token 0 is in every vocabulary
                output = network(torch.zeros(analytic.input_shape, dtype=torch.long))
            else:
                output = network(torch.randn(analytic.input_shape, generator=torch.Generator().manual_seed(0)))
        assert tuple(output.shape) == analytic.rollup(1)[-1].output_shape  # what the last block returned
        shown = dump_yaml(expand(spec))
        reloaded = load_spec(yaml.safe_load(shown))
        assert profile_spec(reloaded, train=True).to_json() == profile_spec(spec, train=True).to_json()

    check()


@pytest.mark.parametrize("kind", TYPES)
def test_fit_scales_every_type_or_refuses_plainly(kind):
    @settings(max_examples=examples(4))
    @given(data=spec_with(kind, lead=True, head=True))
    def check(data):
        spec = load_spec(data)
        for milli in (500, 2000):
            try:
                variant = width_variant(spec, milli, divisor=2)
                profile_spec(load_spec(yaml.safe_load(dump_yaml(variant))))
            except CannotScale as refusal:
                assert "fit cannot scale" in str(refusal)
            except ShapeError as error:
                # grouped layers need channel counts divisible by their groups: a width that the
                # rounding does not keep divisible is refused, naming the layer and what to do
                assert "must divide" in str(error) or "cannot be split" in str(error)

    check()

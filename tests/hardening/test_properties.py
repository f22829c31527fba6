"""Properties over random specs (hypothesis, fixed seed: see tests/conftest.py).

- A valid spec (conv/pool/inception/parallel/sequence/linear stacks, drawn valid by construction)
  gives the same figures from the analytic engine and the torch engine, builds a module whose
  forward runs and gives the shape the analytic engine inferred, with as many parameters.
- Every output format (JSON, CSV, Markdown, table, DOT) renders it, and ``show`` output loads back as the
  same network.
- A broken spec, random bytes or random data raise only ``ArchlensError``, never another exception.
"""

import json
import os
import tempfile

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import archlens
from archlens.counting.analytic import profile_spec
from archlens.errors import ArchlensError, SpecError
from archlens.render.graph import build_graph, to_dot
from archlens.spec import dump_yaml, expand, load_spec

from .strategies import broken_specs, examples, valid_specs

torch = pytest.importorskip("torch")


@settings(max_examples=examples(40))
@given(data=valid_specs(), train=st.booleans())
def test_analytic_and_torch_engines_agree_on_random_specs(data, train):
    spec = load_spec(data)
    # Training-mode BatchNorm refuses one value per channel (PyTorch's rule): train on a batch of 2.
    batch = 2 if train else 1
    analytic = profile_spec(spec, train=train, batch=batch)
    measured = archlens.profile(spec, engine="torch", train=train, batch=batch)
    assert measured.unsupported == ()
    assert [layer.name for layer in measured.layers] == [layer.name for layer in analytic.layers]
    for ours, theirs in zip(measured.layers, analytic.layers):
        assert ours == theirs, ours.name
    # the torch engine also records each group's output shape (the analytic engine leaves it empty)
    assert [(g.name, g.kind) for g in measured.groups] == [(g.name, g.kind) for g in analytic.groups]
    assert measured.rollup(1) == analytic.rollup(1)
    assert measured.depth == analytic.depth
    assert measured.totals == analytic.totals


@settings(max_examples=examples(40))
@given(data=valid_specs())
def test_random_specs_build_modules_that_run(data):
    spec = load_spec(data)
    analytic = profile_spec(spec)
    network = archlens.build(spec)  # CPU, eval mode: the sizes here are small
    assert sum(p.numel() for p in network.parameters()) == analytic.totals.params
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        output = network(torch.randn(analytic.input_shape, generator=generator))
    assert tuple(output.shape) == analytic.layers[-1].output_shape
    assert torch.isfinite(output).all()
    trained = archlens.build(spec, device="meta", train=True)
    assert sum(p.numel() for p in trained.parameters()) == profile_spec(spec, train=True).totals.params


@settings(max_examples=examples(30))
@given(data=valid_specs())
def test_every_output_renders_and_show_round_trips(data):
    spec = load_spec(data)
    first = profile_spec(spec, train=True)
    assert json.loads(first.to_json())["totals"]["macs"] == first.totals.macs
    assert len(first.render("csv").splitlines()) == len(first.layers) + 1
    assert f"**{first.totals.macs:,}**" in first.render("markdown", depth=1)
    assert f"{first.totals.params:,}" in first.render("table", depth=1)
    for depth in (None, 1):
        assert to_dot([build_graph(first, depth=depth)]).startswith("digraph")
    shown = dump_yaml(expand(spec))
    reloaded = load_spec(yaml.safe_load(shown))
    assert profile_spec(reloaded, train=True).to_json() == first.to_json()


def _must_fail_cleanly(action):
    """Run ``action``; it may succeed, or raise an ArchlensError whose every line is one complete line."""
    try:
        action()
    except ArchlensError as error:
        lines = str(error).splitlines()
        assert lines and all(line.strip() for line in lines)
        if isinstance(error, SpecError):
            assert len(lines) == len(error.problems)


@settings(max_examples=examples(150))
@given(data=broken_specs())
def test_broken_specs_raise_only_archlens_errors(data):
    def load_and_profile():
        spec = load_spec(data)
        profile_spec(spec, train=True)

    _must_fail_cleanly(load_and_profile)


@pytest.fixture(scope="module")
def folder():
    with tempfile.TemporaryDirectory() as name:
        yield name


@settings(max_examples=examples(60))
@given(data=broken_specs(), suffix=st.sampled_from([".yaml", ".json"]))
def test_broken_spec_files_raise_only_archlens_errors(folder, data, suffix):
    path = os.path.join(folder, f"spec{suffix}")
    with open(path, "w", encoding="utf-8") as stream:
        if suffix == ".json":
            json.dump(data, stream)
        else:
            yaml.safe_dump(data, stream)

    def load_and_profile():
        profile_spec(load_spec(path), train=True)

    _must_fail_cleanly(load_and_profile)


@settings(max_examples=examples(150))
@given(content=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)),
       suffix=st.sampled_from([".yaml", ".json", ".yml"]))
def test_random_bytes_raise_only_archlens_errors(folder, content, suffix):
    path = os.path.join(folder, f"random{suffix}")
    with open(path, "wb") as stream:
        stream.write(content)
    _must_fail_cleanly(lambda: profile_spec(load_spec(path)))


YAMLISH = st.sampled_from(["name: x\n", "layers:\n", "  - conv: {out: 8, kernel: 3}\n", "  - ", "*a", "&a ",
                           "[", "]", "{", "}", ": ", "- ", "!!python/name:os.system ", "<<: ", "---\n", "\t", "'",
                           '"', "\n", "  ", "0x10", "1e400", ".nan", "~", "?", "%YAML 1.1\n", "#", ","])


@settings(max_examples=examples(150))
@given(pieces=st.lists(YAMLISH, max_size=30))
def test_yaml_shaped_garbage_raises_only_archlens_errors(folder, pieces):
    path = os.path.join(folder, "garbage.yaml")
    with open(path, "w", encoding="utf-8") as stream:
        stream.write("".join(pieces))
    _must_fail_cleanly(lambda: profile_spec(load_spec(path)))


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["name", "layers", "conv", "out", "kernel", "inception", "input",
                                       "parallel", "branches", "x"]), children, max_size=3),
    max_leaves=12,
)


@settings(max_examples=examples(150))
@given(data=st.dictionaries(st.sampled_from(["name", "layers", "input", "metadata", "budget", "x"]), JSONISH))
def test_random_data_raises_only_archlens_errors(data):
    _must_fail_cleanly(lambda: profile_spec(load_spec(data)))

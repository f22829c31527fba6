"""A block repeated on the same input is walked once and its records noted as repeated: the profile is
the same, record for record, and its cost follows the distinct blocks, not the layers."""

from __future__ import annotations

import pytest

import archlens
from archlens.counting.analytic import profile_spec
from archlens.spec import load_spec


def same(spec, **options) -> None:
    """The profile with repeats noted equals the profile walking every copy, in every way it is read."""
    for train in (False, True):
        walked = profile_spec(spec, train=train, repeats=False, **options)
        noted = profile_spec(spec, train=train, **options)
        assert tuple(noted.layers) == tuple(walked.layers)
        assert tuple(noted.groups) == tuple(walked.groups)
        assert noted.totals == walked.totals and noted.depth == walked.depth
        assert noted.kv_per_token == walked.kv_per_token
        for depth in (1, 2, 3, 4):
            assert noted.rollup(depth) == walked.rollup(depth)
        assert noted.to_dict() == walked.to_dict()
        assert noted == walked


def test_every_builtin_profiles_the_same_with_repeats_counted_once(builtin):
    same(load_spec(builtin))


def test_gpt3_is_a_few_distinct_records():
    profile = archlens.profile("gpt3-175b")
    assert profile.layers.distinct() < 25 and len(profile.layers) == 4 + 96 * 12
    assert profile.totals.macs == 366_137_372_049_408
    assert [row.name for row in profile.rollup(1)] == ["wte", "wpe", "drop", "h", "ln_f"]
    rows = profile.rollup(2)
    assert [row.name for row in rows[3:6]] == ["h.0", "h.1", "h.2"] and rows[5] == rows[4]._replace(name="h.2")
    assert profile.layers._full is None  # totals and roll-ups read the distinct records only
    assert profile.layers[-1].name == "ln_f" and profile.layers[-2].name == "h.95.feed_forward"


def test_nested_repeats_and_a_shortcut_run_first():
    layers = [
        {"conv": {"name": "stem", "out": 8, "kernel": 3, "padding": 1}},
        {"repeat": {"name": "stages", "times": 3, "layer": {"sequence": {"layers": [
            {"repeat": {"name": "blocks", "times": 4, "layer": {"conv": {"out": 8, "kernel": 3, "padding": 1}}}},
            {"residual": {"shortcut_first": True, "shortcut": [{"conv": {"out": 8, "kernel": 1}}], "layers": [
                {"repeat": {"name": "inner", "times": 3,
                            "layer": {"conv": {"out": 8, "kernel": 3, "padding": 1, "batch_norm": True}}}}]}},
        ]}}}},
        {"adaptive_avgpool": {"output": 1}},
    ]
    spec = load_spec({"name": "nested", "input": {"channels": 3, "height": 8, "width": 8}, "layers": layers})
    same(spec)
    profile = profile_spec(spec)
    assert profile.layers.distinct() < len(profile.layers)


def test_copies_that_differ_are_walked():
    # the copies of a repeat with index (each gets its position: a stochastic-depth rate) differ
    assert isinstance(profile_spec(load_spec("swin-t")).layers, tuple)


def test_a_decoding_step_and_batches_repeat_too():
    spec = load_spec("llama-3-8b")
    same(spec, decode=100, batch=3)


def test_a_trillion_parameters_in_distinct_blocks():
    layers = [{"embedding": {"dim": 25600}},
              {"repeat": {"times": 128, "layer": {"sequence": {"layers": [
                  {"residual": {"layers": [{"layer_norm": {}}, {"attention": {"heads": 160, "causal": True}}]}},
                  {"residual": {"layers": [{"layer_norm": {}}, {"mlp": {"hidden": 102400, "activation": "gelu"}}]}},
              ]}}}}]
    spec = load_spec({"name": "dense-1t", "input": {"tokens": 2048, "vocab": 50257}, "layers": layers})
    profile = profile_spec(spec)
    assert profile.totals.params == 50257 * 25600 + 128 * (12 * 25600 ** 2 + 13 * 25600)
    assert profile.layers.distinct() < 20


def test_a_profile_with_repeats_pickles():
    import pickle

    profile = archlens.profile("gpt3-175b")
    again = pickle.loads(pickle.dumps(profile))
    assert again.totals == profile.totals and tuple(again.layers) == tuple(profile.layers)
    assert again.rollup(2) == profile.rollup(2) and again.group_kind("h.95") == "gpt2_block"

"""Transformer layer types counted by hand: attention (heads, grouped-query, causal, rotary), the MLPs,
windowed attention (shifted, grid, cosine) and the token layers; numbers anyone can redo on paper."""

from __future__ import annotations

import doctest
import importlib

import pytest

import archlens
from archlens.counting import formulas as F
from archlens.errors import ShapeError, SpecError
from archlens.spec import load_spec


def spec(layers, *, input=None, name="t"):
    return load_spec({"name": name, "input": input or {"tokens": 16, "features": 64}, "layers": layers})


def record(profile, name):
    return next(layer for layer in profile.layers if layer.name == name)


@pytest.mark.parametrize("module", ["archlens.layers.base", "archlens.spec.schema", "archlens.counting.formulas"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


def test_attention_counts_projections_and_both_products():
    # 16 tokens of 64 features, 4 heads of 16: qkv 16 x 64 x 192, proj 16 x 64 x 64, products 2 x 4 x 16 x 16 x 16
    profile = archlens.profile(spec([{"attention": {"name": "attn", "heads": 4}}]))
    assert record(profile, "attn.qkv").macs == 16 * 64 * 192
    assert record(profile, "attn.proj").macs == 16 * 64 * 64
    core = record(profile, "attn")
    assert core.macs == 2 * 4 * 16 * 16 * 16
    assert core.ops.activation_ops == 3 * 4 * 16 * 16  # softmax
    assert core.ops.elementwise_ops == 4 * 16 * 16     # the 1/sqrt(d) scale
    assert profile.totals.params == (64 * 192 + 192) + (64 * 64 + 64)


def test_a_causal_mask_changes_nothing_unless_the_kernel_skips_it():
    full = archlens.profile(spec([{"attention": {"name": "a", "heads": 4}}])).totals.macs
    masked = archlens.profile(spec([{"attention": {"name": "a", "heads": 4, "causal": True}}])).totals.macs
    skipped = record(archlens.profile(spec([{"attention": {"name": "a", "heads": 4, "causal": "skip"}}])), "a")
    assert masked == full
    visible = 16 * 17 // 2  # query i sees keys 0..i
    assert skipped.macs == 2 * 4 * visible * 16
    assert F.attention_skipping_masked((1, 4, 16, 16), (1, 4, 16, 16), (1, 4, 16, 16)).macs == skipped.macs


def test_grouped_query_attention_shrinks_the_projections_not_the_products():
    gqa = archlens.profile(spec([{"attention": {"name": "a", "heads": 8, "head_dim": 8, "kv_heads": 2,
                                                "qkv": "separate", "bias": False}}]))
    assert [record(gqa, f"a.{part}").params for part in "qkv"] == [64 * 64, 64 * 16, 64 * 16]
    assert record(gqa, "a").macs == 2 * 8 * 16 * 16 * 8


def test_rotary_tables_once_and_their_application_per_layer():
    profile = archlens.profile(spec([
        {"rotary_embedding": {"name": "rope", "dim": 16}},
        {"attention": {"name": "a", "heads": 4, "rotary": True}},
    ]))
    assert record(profile, "rope").ops.elementwise_ops == 16 * 8 + 2 * 16 * 16
    q_and_k = 2 * 4 * 16 * 16  # query and key elements
    assert record(profile, "a").ops.elementwise_ops == 4 * 16 * 16 + 3 * q_and_k + q_and_k // 2
    with pytest.raises(SpecError, match="rotary_embedding"):
        archlens.profile(spec([{"attention": {"name": "a", "heads": 4, "rotary": True}}]))


def test_mlp_and_gated_mlp():
    mlp = archlens.profile(spec([{"mlp": {"name": "m", "hidden": 256}}]))
    assert mlp.totals.macs == 2 * 16 * 64 * 256 and mlp.totals.params == 64 * 256 + 256 + 256 * 64 + 64
    gated = archlens.profile(spec([{"gated_mlp": {"name": "g", "hidden": 172}}]))
    assert gated.totals.macs == 3 * 16 * 64 * 172 and gated.totals.params == 3 * 64 * 172
    assert [layer.name for layer in gated.layers] == ["g.gate", "g.act", "g.up", "g", "g.down"]
    assert record(gated, "g").ops.elementwise_ops == 16 * 172  # the gate's product


def test_window_attention_swin_stage():
    # Swin-T's first stage: 56 x 56 tokens of 96, 3 heads, 7 x 7 windows: 64 windows of 49 tokens
    image = {"channels": 96, "height": 56, "width": 56}
    layers = [{"to_tokens": {}}, {"window_attention": {"name": "w", "heads": 3, "window": 7, "shift": 3}}]
    profile = archlens.profile(spec(layers, input=image))
    core = record(profile, "w")
    scores = 64 * 3 * 49 * 49
    assert core.macs == 2 * scores * 32
    assert core.ops.elementwise_ops == 3 * scores  # scale, position bias, shift mask
    assert core.params == 13 * 13 * 3              # the relative position bias table
    assert record(profile, "w.qkv").input_shape == (64, 49, 96)
    unshifted = archlens.profile(spec([{"to_tokens": {}}, {"window_attention": {"name": "w", "heads": 3}}],
                                      input={"channels": 96, "height": 7, "width": 7}))
    assert record(unshifted, "w").ops.elementwise_ops == 2 * 3 * 49 * 49


def test_grid_attention_costs_what_block_attention_costs():
    image = {"channels": 64, "height": 56, "width": 56}
    block, grid = (archlens.profile(spec([{"to_tokens": {}}, {"window_attention": {"heads": 2, "partition": p}}],
                                         input=image)).totals for p in ("window", "grid"))
    assert block == grid
    with pytest.raises(ShapeError, match="grid partition"):
        archlens.profile(spec([{"to_tokens": {}}, {"window_attention": {"heads": 2, "partition": "grid"}}],
                              input={"channels": 8, "height": 10, "width": 10}))


def test_cosine_window_attention_counts_its_position_bias_mlp():
    image = {"channels": 96, "height": 8, "width": 8}
    profile = archlens.profile(spec([{"to_tokens": {}}, {"cosine_window_attention": {"name": "w", "heads": 3,
                                                                                     "window": 8}}], input=image))
    core = record(profile, "w")
    table = 15 * 15
    assert core.macs == table * 2 * 512 + table * 512 * 3 + 2 * 3 * 64 * 64 * 32
    assert core.params == 2 * 512 + 512 + 512 * 3 + 3  # the MLP and the logit scales


def test_tokens_need_a_grid_for_windows():
    with pytest.raises(ShapeError, match="to_tokens"):
        archlens.profile(spec([{"window_attention": {"heads": 2}}]))


@pytest.mark.parametrize("options, first", [
    ({"tokens": 600}, "600 tokens need"),
    ({"decode": 1023}, "position 1023 needs"),
    ({"decode": 500, "tokens": 20}, "positions 500 to 519 need"),
])
def test_a_position_table_too_short_for_the_tokens_says_which(options, first):
    """bert-base's learned table has 512 rows (positions 0 to 511)."""
    with pytest.raises(ShapeError) as caught:
        archlens.profile("bert-base", **options)
    assert str(caught.value) == (f"embeddings.position_embeddings: {first} more than the 512 positions of the "
                                 "table; use fewer tokens (--tokens, --decode) or a larger table (the layer's "
                                 "positions: field)")

"""Sequence length, batch and decoding steps as options (--tokens, --batch, --decode), on specs with a
token input, through every command that profiles; and fit scaling a transformer's depth."""

from __future__ import annotations

import json

import pytest

import archlens
from archlens.analysis.fit import fit
from archlens.cli import main
from archlens.counting.analytic import profile_spec
from archlens.counting.torch_engine import profile_module
from archlens.errors import ArchlensError, ShapeError
from archlens.profiler import spec_inputs
from archlens.targets import TargetOptions, resolve

D, LAYERS = 768, 12  # gpt2


def gpt2_macs(tokens: int, keys: int | None = None) -> int:
    """12 x (12 T d^2 + 2 T S d): the projections and MLP of T tokens, and their products with S keys."""
    keys = tokens if keys is None else keys
    return LAYERS * (12 * tokens * D * D + 2 * tokens * keys * D)


def test_tokens_and_batch_replace_the_specs():
    assert archlens.profile("gpt2").totals.macs == gpt2_macs(128) == 11_173_625_856
    assert archlens.profile("gpt2", tokens=1024).totals.macs == gpt2_macs(1024)
    eight = archlens.profile("gpt2", tokens=512, batch=8)
    assert eight.input_shape == (8, 512) and eight.totals.macs == 8 * gpt2_macs(512)
    assert archlens.profile("gpt2", input_shape=(2, 64)).totals.macs == 2 * gpt2_macs(64)


def test_a_decoding_step_reads_the_cache():
    step = archlens.profile("gpt2", decode=1023)
    assert step.input_shape == (1, 1)
    assert step.totals.macs == gpt2_macs(1, 1024) == 103_809_024
    assert step.kv_per_token == 2 * LAYERS * D
    assert step.kv_cache_bytes == 2 * LAYERS * D * 1023 * 4
    assert archlens.profile("gpt2", decode=1023, dtype="float16").kv_cache_bytes == 2 * LAYERS * D * 1023 * 2
    four = archlens.profile("gpt2", decode=100, tokens=4, batch=3)
    assert four.totals.macs == 3 * gpt2_macs(4, 104)
    assert four.kv_cache_elements == 3 * 2 * LAYERS * D * 100


def test_gpt3_decoding_step_and_its_cache():
    step = archlens.profile("gpt3-175b", decode=2047, dtype="float16")
    d = 12288
    assert step.totals.macs == 96 * (12 * d * d + 2 * 2048 * d) == 178_778_013_696
    assert step.kv_cache_bytes == 2 * 96 * d * 2047 * 2  # 9.66 GB


def test_grouped_query_attention_keeps_a_smaller_cache():
    step = archlens.profile("llama-3-8b", decode=8191, dtype="bfloat16")
    assert step.kv_per_token == 2 * 32 * 8 * 128  # 8 key-value heads of 128, 32 layers
    assert step.kv_cache_bytes == 2 * 32 * 8 * 128 * 8191 * 2


@pytest.mark.parametrize("name, decode, tokens", [("gpt2", 100, None), ("llama-3-8b", 50, 3), ("bert-base", 10, 2)])
def test_engines_agree_on_a_decoding_step(name, decode, tokens):
    spec = resolve(name, TargetOptions(decode=decode, tokens=tokens)).spec
    analytic = profile_spec(spec, decode=decode)
    measured = profile_module(archlens.build(spec, device="meta", decode=decode), **spec_inputs(spec), name=name)
    assert measured.unsupported == ()
    assert list(measured.layers) == list(analytic.layers)
    assert measured.totals == analytic.totals
    assert archlens.profile(name, decode=decode, tokens=tokens, engine="torch").kv_cache_bytes == \
        analytic.kv_cache_bytes


def test_positions_and_inputs_refuse_plainly():
    with pytest.raises(ShapeError, match="1024 positions"):
        archlens.profile("gpt2", tokens=2000)
    with pytest.raises(ShapeError, match="position 1024 needs"):
        archlens.profile("gpt2", decode=1024)
    with pytest.raises(ArchlensError, match="applies to a token input"):
        archlens.profile("vit-b-16", tokens=64)
    with pytest.raises(ArchlensError, match="N,T"):
        archlens.profile("gpt2", input_shape=(1, 3, 224, 224))
    with pytest.raises(ArchlensError, match="disagree"):
        archlens.profile("gpt2", input_shape=(1, 64), tokens=32)
    with pytest.raises(ArchlensError, match="fvcore engine cannot profile gpt2"):
        archlens.profile("gpt2", engine="fvcore")


def test_cli_profile_check_and_compare(capsys):
    assert main(["profile", "gpt2", "--decode", "1023", "--dtype", "float16"]) == 0
    out = capsys.readouterr().out
    assert "decoding step after a KV cache of 1,023 tokens" in out and "35.96 MiB at float16" in out
    assert main(["profile", "gpt2", "--decode", "1023", "-f", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["decode"]["kv_cache_bytes"] == 2 * LAYERS * D * 1023 * 4
    assert main(["check", "gpt3-175b", "--max-macs", "366T"]) == 1
    assert main(["check", "gpt3-175b", "--max-macs", "367T"]) == 0
    assert main(["check", "gpt3-175b", "--max-macs", "179G", "--decode", "2047"]) == 0
    capsys.readouterr()
    assert main(["compare", "gpt2", "bert-base", "--tokens", "256", "--batch", "4", "-f", "json"]) == 0
    networks = json.loads(capsys.readouterr().out)["networks"]
    assert networks[0]["input_shape"] == [4, 256] and networks[0]["macs"] == 4 * gpt2_macs(256)


def test_fit_scales_a_transformers_depth():
    result = fit("gpt3-175b", vary="depth", max_params="100G")
    layers = result.spec.layers[3].times
    assert layers == 54 and result.report.ok
    assert archlens.profile(result.spec).totals.params == 617_558_016 + 25_165_824 + 24_576 + 54 * 1_812_099_072


def test_fit_scales_a_transformers_width_in_whole_heads():
    result = fit("gpt2", max_params="100M", divisor=48)  # 48: whole heads of the 12
    assert result.report.ok and result.value < 1
    profile = archlens.profile(result.spec)
    assert profile.totals.params <= 100_000_000
    dim = profile.layers[0].output_shape[-1]
    assert dim % 48 == 0 and dim < 768

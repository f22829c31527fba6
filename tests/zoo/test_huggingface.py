"""Hugging Face models built from their configs (no weights downloaded), on the meta device with token
ids as int64 inputs: archlens's MACs equal FlopCounterMode's FLOPs / 2, a tied embedding counts once."""

import pytest
import torch

from archlens.counting.torch import Inputs, TensorSpec, profile_module

from .conftest import build, flop_counter_macs, unique_parameters

transformers = pytest.importorskip("transformers")
pytestmark = pytest.mark.zoo

T = transformers


def ids(length=128):
    return TensorSpec((1, length), "int64")


def image(size=224):
    return TensorSpec((1, 3, size, size))


def small(config_class, **sizes):
    return config_class(hidden_size=512, intermediate_size=1376, num_hidden_layers=4, num_attention_heads=8,
                        **sizes)


CASES = {
    "bert": (lambda: T.BertModel(T.BertConfig()), Inputs(ids())),
    "distilbert": (lambda: T.DistilBertModel(T.DistilBertConfig()), Inputs(ids())),
    "gpt2": (lambda: T.GPT2LMHeadModel(T.GPT2Config()), Inputs(ids())),
    "t5": (lambda: T.T5Model(T.T5Config()), Inputs(ids(), decoder_input_ids=ids(16))),
    "t5-lm": (lambda: T.T5ForConditionalGeneration(T.T5Config()), Inputs(ids(), decoder_input_ids=ids(16))),
    "llama": (lambda: T.LlamaForCausalLM(small(T.LlamaConfig, num_key_value_heads=4)), Inputs(ids())),
    "mistral": (lambda: T.MistralModel(small(T.MistralConfig, num_key_value_heads=2)), Inputs(ids())),
    "qwen2": (lambda: T.Qwen2Model(small(T.Qwen2Config, num_key_value_heads=2)), Inputs(ids())),
    "vit": (lambda: T.ViTModel(T.ViTConfig()), Inputs(image())),
    "swin": (lambda: T.SwinModel(T.SwinConfig()), Inputs(image())),
    "convnext": (lambda: T.ConvNextModel(T.ConvNextConfig()), Inputs(image())),
    "clip": (lambda: T.CLIPModel(T.CLIPConfig()), Inputs(input_ids=ids(77), pixel_values=image())),
    "siglip": (lambda: T.SiglipModel(T.SiglipConfig()), Inputs(input_ids=ids(64), pixel_values=image())),
    "whisper": (lambda: T.WhisperModel(T.WhisperConfig()),
                Inputs(input_features=TensorSpec((1, 80, 3000)), decoder_input_ids=ids(16))),
    "segformer": (lambda: T.SegformerModel(T.SegformerConfig()), Inputs(image(512))),
    "wav2vec2": (lambda: T.Wav2Vec2Model(T.Wav2Vec2Config()), Inputs(TensorSpec((1, 16000)))),
}


def _meta(value):
    if isinstance(value, TensorSpec):
        return torch.empty(value.shape, dtype=torch.int64 if value.dtype == "int64" else torch.float32,
                           device="meta")
    return value


@pytest.mark.parametrize("name", CASES)
def test_huggingface_model(name):
    factory, inputs = CASES[name]
    model = build(factory)
    profile = profile_module(model, inputs=inputs, strict=True)
    args, kwargs = tuple(map(_meta, inputs.args)), {key: _meta(value) for key, value in inputs.kwargs.items()}
    assert profile.totals.macs == flop_counter_macs(model, args, kwargs)
    assert profile.totals.params == unique_parameters(model)


def test_t5_counts_its_tied_embedding_once():
    profile = profile_module(build(lambda: T.T5Model(T.T5Config())), inputs=Inputs(ids(), decoder_input_ids=ids(16)))
    assert profile.totals.params == 60_506_624  # t5-small; the shared embedding (32128 x 512) once
    assert "not called" not in {layer.kind for layer in profile.layers if layer.params}


def test_bart_needs_values_and_runs_on_the_cpu():
    # BART's decoder asks a tensor for a value (.item()): one line on meta; on the CPU its MACs exceed
    # FlopCounterMode's by exactly the attention products, which FlopCounterMode does not count on the CPU
    config = T.BartConfig(d_model=256, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
                          decoder_attention_heads=4, encoder_ffn_dim=512, decoder_ffn_dim=512)
    from archlens.errors import TargetError

    with pytest.raises(TargetError, match="aten._local_scalar_dense cannot run on the meta device"):
        profile_module(build(lambda: T.BartModel(config)), inputs=Inputs(ids()))
    model = build(lambda: T.BartModel(config), device="cpu")
    profile = profile_module(model, inputs=Inputs(ids()), device="cpu", strict=True)
    attention = 3 * 2 * (2 * 128 * 128 * 256)  # encoder self, decoder self and cross: 2 layers, QK^T and AV
    assert profile.totals.macs == flop_counter_macs(model, (torch.ones(1, 128, dtype=torch.int64),)) + attention

"""Blocks defined in a spec, parameters, expressions, ``when:``, ``extends`` and the expansion limits:
what a user writes, and the one line each mistake gets."""

import time

import pytest

import archlens
from archlens.errors import SpecError
from archlens.layers.expressions import ExpressionError, divisible, evaluate
from archlens.spec import dump_yaml, expand, load_spec

HEAD = "name: t\ninput: {channels: 3, height: 8, width: 8}\n"
BOTTLENECK = """blocks:
  bneck:
    params: {width: required, stride: 1}
    widths: [width]
    layers:
      - residual:
          shortcut: auto
          activation: relu
          layers:
            - conv: {name: conv1, out: $width, kernel: 1}
            - conv: {name: conv2, out: $width, kernel: 3, stride: $stride, padding: 1}
            - conv: {name: conv3, out: "${width * 4}", kernel: 1, activation: none}
"""


def load(tmp_path, text):
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return load_spec(path)


def test_a_block_used_twice_with_different_numbers(tmp_path):
    spec = load(tmp_path, HEAD + BOTTLENECK + "layers:\n  - bneck: {name: a, width: 2}\n"
                "  - bneck: {name: b, width: 4, stride: 2}\n")
    profile = archlens.profile(spec)
    names = [layer.name for layer in profile.layers]
    # a: 3 -> 8 channels needs a projection; b: 8 -> 16 at stride 2 too
    assert names[:6] == ["a.conv1.conv", "a.conv1.relu", "a.conv2.conv", "a.conv2.relu", "a.conv3", "a.shortcut.conv"]
    assert profile.rollup(1)[0].kind == "bneck" and profile.rollup(1)[1].output_shape == (1, 16, 4, 4)
    # by hand: a = 3*2+2 + 2*2*9+2 + 2*8+8 + (3*8 + 8*2 BN); b = 8*4+4 + 4*4*9+4 + 4*16+16 + (8*16 + 16*2 BN)
    assert profile.totals.params == (8 + 38 + 24 + 40) + (36 + 148 + 80 + 160)


def test_show_prints_the_expanded_block_and_it_loads_back(tmp_path):
    spec = load(tmp_path, HEAD + BOTTLENECK + "layers:\n  - bneck: {name: a, width: 2}\n")
    shown = dump_yaml(expand(spec))
    assert "bneck:" not in shown and "block: bneck" in shown and "shortcut:" in shown
    assert archlens.profile(load(tmp_path, shown)).to_json() == archlens.profile(spec).to_json()


@pytest.mark.parametrize("use, message", [
    ("bneck: {name: a, widht: 2}", "layers[0].bneck: block 'bneck' has no parameter 'widht'; did you mean 'width'?"),
    ("bneck: {name: a}", "layers[0].bneck: block 'bneck' needs width"),
    ("bneck: {name: a, width: 0}", "layers[0].bneck: in block 'bneck', layers[0].residual.layers[0].conv.out: "
                                   "must be a positive integer, got 0"),
    ("bneck: {name: a, width: 2, stride: two}", "layers[0].bneck: in block 'bneck', "
                                                "layers[0].residual.layers[1].conv.stride: must be"),
    ("bnek: {name: a, width: 2}", "layers[0]: unknown layer type 'bnek'; did you mean 'bneck'?"),
])
def test_block_mistakes_name_the_file_line_use_and_field(tmp_path, use, message):
    with pytest.raises(SpecError) as caught:
        load(tmp_path, HEAD + BOTTLENECK + f"layers:\n  - {use}\n")
    line = (HEAD + BOTTLENECK).count("\n") + 2  # the use's line
    assert str(caught.value).splitlines()[0].endswith(f"spec.yaml:{line}: {message}") or \
        f"spec.yaml:{line}: {message}" in str(caught.value).splitlines()[0]


def test_a_block_that_uses_itself_is_refused_when_read(tmp_path):
    text = HEAD + "blocks:\n  a: {layers: [b: {}]}\n  b: {layers: [relu: {}, a: {}]}\nlayers:\n  - a: {}\n"
    with pytest.raises(SpecError, match=r"block 'a' uses itself \(a -> b -> a\)"):
        load(tmp_path, text)


def test_a_block_refers_only_to_known_parameters(tmp_path):
    text = HEAD + "blocks:\n  a: {layers: [conv: {out: $widht, kernel: 1}]}\nlayers:\n  - a: {}\n"
    with pytest.raises(SpecError, match=r"block 'a' refers to \$widht, which is not one of its params"):
        load(tmp_path, text)


def test_network_params_and_input_sizes_in_expressions(tmp_path):
    text = (HEAD + "params: {mult: 1.5}\nblocks:\n  same:\n    layers:\n"
            "      - conv: {out: $in_channels, kernel: 3, padding: 1, groups: $in_channels}\n"
            "      - conv: {out: \"${divisible(in_channels * mult * in_height, 8)}\", kernel: 1}\n"
            "layers:\n  - conv: {out: \"${divisible(16 * mult)}\", kernel: 1}\n  - same: {name: s}\n")
    profile = archlens.profile(load(tmp_path, text))
    assert profile.layers[0].output_shape == (1, 24, 8, 8)          # divisible(24.0) = 24
    assert profile.layers[-2].output_shape == (1, 288, 8, 8)        # 24 * 1.5 * 8 = 288


def test_when_leaves_a_layer_out(tmp_path):
    text = (HEAD + "params: {extra: false}\nblocks:\n  ir:\n    params: {t: required}\n    layers:\n"
            "      - conv: {name: expand, out: \"${in_channels * t}\", kernel: 1, when: \"${t != 1}\"}\n"
            "      - conv: {name: project, out: 4, kernel: 1}\n"
            "layers:\n  - conv: {name: maybe, out: 8, kernel: 1, when: $extra}\n"
            "  - ir: {name: a, t: 1}\n  - ir: {name: b, t: 6}\n")
    names = [layer.name for layer in archlens.profile(load(tmp_path, text)).layers]
    # a (t = 1) is one layer: the block's only layer then takes the use's name
    assert names == ["a.conv", "a.relu", "b.expand.conv", "b.expand.relu", "b.project.conv", "b.project.relu"]


def test_when_must_be_true_or_false(tmp_path):
    text = HEAD + "layers:\n  - conv: {out: 8, kernel: 1, when: maybe}\n"
    with pytest.raises(SpecError, match=r"spec.yaml:4: layers\[0\].conv.when: when must be true or false"):
        load(tmp_path, text)


def test_extends_takes_the_base_and_merges_params(tmp_path):
    base = HEAD + "params: {width: 4, depth: 2}\nlayers:\n  - repeat: {name: r, times: $depth, layer: {conv: {out: $width, kernel: 1}}}\n"
    (tmp_path / "base.yaml").write_text(base)
    (tmp_path / "wide.yaml").write_text("name: wide\nextends: base.yaml\nparams: {width: 8}\n")
    profile = archlens.profile(load_spec(tmp_path / "wide.yaml"))
    assert [layer.output_shape for layer in profile.layers if layer.kind == "conv"] == [(1, 8, 8, 8)] * 2
    assert archlens.profile("resnet101").totals.params == 44_549_160  # resnet50 with other depths


def test_extends_refuses_a_cycle_and_needs_a_name(tmp_path):
    (tmp_path / "a.yaml").write_text("name: a\nextends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("name: b\nextends: a.yaml\n")
    with pytest.raises(SpecError, match="extends itself"):
        load_spec(tmp_path / "a.yaml")
    (tmp_path / "c.yaml").write_text("extends: resnet50\n")
    with pytest.raises(SpecError, match="needs its own name"):
        load_spec(tmp_path / "c.yaml")


@pytest.mark.parametrize("text, message", [
    ("width * ", "not an expression"),
    ("__import__('os')", "unknown function"),
    ("width.real", "attribute is not allowed"),
    ("10 ** 100", "exponents are limited to 64"),
    ("2 ** 64 * 2 ** 64", "larger than 10^30"),
    ("width / 0", "division by zero"),
    ("depths[7]", "list index out of range"),
])
def test_expressions_are_arithmetic_never_code(text, message):
    with pytest.raises(ExpressionError, match=message.replace("^", r"\^").replace("*", r"\*")):
        evaluate(text, {"width": 64, "depths": [3, 4]})


def test_divisible_is_torchvisions_make_divisible():
    # torchvision.models._utils._make_divisible, by hand: 32 * 1.1 = 35.2 -> 32; 16 * 0.5 = 8; 3 -> 8 (at least d)
    assert (divisible(35.2), divisible(8.0), divisible(3), divisible(100, 8), divisible(44, 32)) == (32, 8, 8, 104, 64)


@pytest.mark.parametrize("layer", [
    "repeat: {times: 100000000, layer: {relu: {}}}",
    "vgg_stage: {convs: 100000000, out: 8}",
    "repeat: {times: 1000, layer: {repeat: {times: 1000, layer: {relu: {}}}}}",
])
def test_runaway_expansion_is_refused_at_once(tmp_path, layer):
    started = time.process_time()
    with pytest.raises(SpecError, match=r"spec.yaml:4: layers\[0\]\.(repeat|vgg_stage): expands to more than "
                                         r"100,000 layers"):
        load(tmp_path, HEAD + f"layers:\n  - {layer}\n")
    assert time.process_time() - started < 1.0  # refused before the work, not after it


def test_a_block_expanding_past_the_limit_is_refused_where_it_is_used(tmp_path):
    text = (HEAD + "params: {n: 3000}\nblocks:\n  many:\n    params: {n: 1}\n    layers:\n"
            "      - repeat: {times: $n, layer: {relu: {}}}\n"
            "layers:\n  - repeat: {times: 100, layer: {many: {n: 3000}}}\n")
    with pytest.raises(SpecError, match="expands to more than 100,000 layers"):
        load(tmp_path, text)

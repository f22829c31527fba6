"""Malformed specs: one line per problem, naming the file, line and field path."""

import textwrap

import pytest

import archlens
from archlens.errors import ShapeError, SpecError

GOOD_HEAD = "name: t\nlayers:\n"


def load(tmp_path, text, suffix=".yaml"):
    path = tmp_path / f"spec{suffix}"
    path.write_text(textwrap.dedent(text))
    return archlens.load_spec(path)


@pytest.mark.parametrize("body, expected", [
    ("  - inception: {ch1x1: 64, ch3x3_reduce: 96, ch3x3: -5, ch5x5_reduce: 16, ch5x5: 32, pool_proj: 32}",
     "spec.yaml:3: layers[0].inception.ch3x3: must be a positive integer, got -5"),
    ("  - conv: {out: 64, kernel: 3, strid: 2}",
     "spec.yaml:3: layers[0].conv.strid: unknown field 'strid'; did you mean 'stride'?"),
    ("  - conv: {out: 64.5, kernel: 3}", "layers[0].conv.out: must be an integer, got 64.5"),
    ("  - conv: {kernel: 3}", "layers[0].conv.out: is required"),
    ("  - conx: {out: 3}", "layers[0]: unknown layer type 'conx'; did you mean 'conv'?"),
    ("  - conv: {out: 8, kernel: [3, 0]}", "layers[0].conv.kernel[1]: must be a positive integer, got 0"),
    ("  - conv: {out: 8, kernel: 3, activation: swish}", "layers[0].conv.activation: must be 'relu', 'relu6'"),
    ("  - conv: {out: 8, kernel: 3}\n    relu: {}", "layers[0]: a layer is a mapping with exactly one key"),
    ("  - inception: {ch1x1: 64, ch3x3: 128, ch5x5: 32}", "variant 'reduced' needs ch3x3_reduce, ch5x5_reduce, pool_proj"),
    ("  - conv: {name: 'bad name', out: 8, kernel: 3}", "layers[0].conv.name: layer name 'bad name' is not allowed"),
])
def test_invalid_fields_name_the_path(tmp_path, body, expected):
    with pytest.raises(SpecError) as caught:
        load(tmp_path, GOOD_HEAD + body + "\n")
    assert expected in str(caught.value)
    assert len(str(caught.value).splitlines()) == 1


def test_several_problems_give_one_line_each(tmp_path):
    with pytest.raises(SpecError) as caught:
        load(tmp_path, GOOD_HEAD + "  - conv: {out: 0, kernel: 3}\n  - linear: {outt: 3}\n")
    lines = str(caught.value).splitlines()
    # `outt` is one mistake: "unknown field 'outt'; did you mean 'out'?", not also "out: is required".
    assert len(lines) == 2
    assert lines[0].endswith("layers[0].conv.out: must be a positive integer, got 0")
    assert lines[1].endswith("layers[1].linear.outt: unknown field 'outt'; did you mean 'out'?")


@pytest.mark.parametrize("text, expected", [
    ("", "is empty"),
    ("- a\n- b\n", "the top level is a list"),
    ("name: a\nname: b\nlayers: []\n", "duplicate key 'name' (first given on line 1)"),
    ("name: x\nlayers: [\n", "spec.yaml:3"),
    ("!!python/object/apply:os.system ['echo hi']\n", "no tags such as !!python/object"),
    ("name: t\nlayers: []\n", "layers: must not be empty"),
])
def test_unreadable_files(tmp_path, text, expected):
    with pytest.raises(SpecError) as caught:
        load(tmp_path, text)
    assert expected in str(caught.value)


def test_billion_laughs_fails_fast(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    with pytest.raises(SpecError, match="expands to more than"):
        load(tmp_path, "\n".join(lines) + "\nname: t\nlayers: *a8\n")


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(SpecError, match="no such file"):
        archlens.load_spec(tmp_path / "nope.yaml")
    with pytest.raises(SpecError, match="is a directory"):
        archlens.load_spec(str(tmp_path) + "/")


def test_unknown_builtin_suggests():
    with pytest.raises(SpecError, match="did you mean 'googlenet'"):
        archlens.load_spec("googlnet")


def test_json_specs_and_duplicate_json_keys(tmp_path):
    spec = load(tmp_path, '{"name": "j", "layers": [{"conv": {"out": 8, "kernel": 3}}]}', ".json")
    assert spec.name == "j"
    with pytest.raises(SpecError, match="duplicate key 'name'"):
        load(tmp_path, '{"name": "j", "name": "k", "layers": []}', ".json")


@pytest.mark.parametrize("layers, expected", [
    ("  - conv: {name: c, out: 8, kernel: 3, groups: 2}", "c: groups=2 must divide both input channels (3)"),
    ("  - conv: {name: big, out: 8, kernel: 300}", "big: kernel 300x300 is larger than the padded input 224x224"),
    ("  - flatten: {}\n  - conv: {name: c2, out: 8, kernel: 3}", "c2: conv needs an image-shaped input"),
    ("  - linear: {name: fc, out: 10}", "fc: linear needs a flat input (N x features) or tokens (N x T x D), got 1x3x224x224"),
    ("  - maxpool: {name: p, kernel: 2, padding: 2}", "p: padding 2 is more than half the kernel 2"),
    ("  - parallel: {name: par, branches: [{name: a, layers: [{conv: {out: 4, kernel: 3}}]},"
     " {name: b, layers: [{conv: {out: 4, kernel: 1}}]}]}", "par: branch outputs cannot be concatenated"),
])
def test_shape_errors_name_the_file_the_layer_and_shapes(tmp_path, layers, expected):
    # Found when the file is read (the walk that expands a spec infers every shape), naming the file.
    with pytest.raises(ShapeError) as caught:
        load(tmp_path, GOOD_HEAD + layers + "\n")
    assert f"spec.yaml: {expected}" in str(caught.value)
    assert isinstance(caught.value, SpecError)  # one placed line, like every problem found on reading


def test_shape_errors_of_a_spec_made_in_python_name_the_layer():
    spec = archlens.load_spec({"name": "x", "layers": [{"conv": {"out": 8, "kernel": 3}}]})
    small = spec.model_copy(update={"input": spec.input.model_copy(update={"height": 2, "width": 2})})
    with pytest.raises(ShapeError, match="conv_0: kernel 3x3 is larger than the padded input 2x2"):
        archlens.profile(small)
    with pytest.raises(ShapeError):
        archlens.build(small, device="meta")


def test_duplicate_sibling_names(tmp_path):
    # Found when the file is read, with its line, not later by an engine.
    with pytest.raises(SpecError, match=r"spec.yaml:4: layers\[1\]: layer name 'r' is used twice"):
        load(tmp_path, GOOD_HEAD + "  - relu: {name: r}\n  - relu: {name: r}\n")

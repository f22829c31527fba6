"""The README's "Adding a layer type" example is real: registered from the README's own code, the new
type is accepted by specs, agrees across both engines in both modes, builds, shows and fits; and
registering a second type of the same name is refused."""

import re
from pathlib import Path

import pytest
import yaml

import archlens
from archlens.analysis.fit import width_variant
from archlens.layers import LAYER_TYPES, rebuild, register
from archlens.spec import dump_yaml, expand, load_spec

from .test_registry import engines_agree

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def elu_type():
    text = README.read_text()
    code = re.search(r"```python\n(# archlens/layers/elu\.py.*?)```", text, re.S)[1]
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    try:
        yield namespace["ELU"]
    finally:
        del LAYER_TYPES["elu"]
        rebuild()


def test_the_readme_example_is_one_module_that_works_everywhere(elu_type):
    spec = load_spec({"name": "elu-net", "input": {"channels": 3, "height": 8, "width": 8}, "layers": [
        {"conv": {"out": 4, "kernel": 3, "activation": "none"}}, {"elu": {"name": "act", "alpha": 0.5}},
        {"adaptive_avgpool": {"output": 1}}, {"flatten": {}}, {"linear": {"out": 2}}]})
    profile = archlens.profile(spec)
    assert profile.layers[1].kind == "elu" and profile.layers[1].ops.activation_ops == 4 * (4 * 6 * 6)  # 4 ops an element, 4 x 6 x 6
    for train in (False, True):
        engines_agree(spec, train)
    assert load_spec(yaml.safe_load(dump_yaml(expand(spec)))) is not None
    assert width_variant(spec, 500).layers[1] == spec.layers[1]  # nothing to scale


def test_a_second_type_of_the_same_name_is_refused(elu_type):
    class Again(elu_type):
        pass

    with pytest.raises(ValueError, match="layer type 'elu' is registered twice"):
        register(Again)


def test_a_type_without_its_part_of_the_contract_is_refused_at_registration():
    """A primitive defines infer(), a container forward(), a macro expand(): missing, the type was
    registered and failed only when a spec used it (NotImplementedError, exit 3)."""
    from typing import Literal

    from archlens.layers.base import LayerType

    class Nothing(LayerType):
        type: Literal["nothing_defined"] = "nothing_defined"

    class HalfMacro(LayerType):
        type: Literal["half_macro"] = "half_macro"
        macro = True

    with pytest.raises(TypeError, match="Nothing defines neither infer\\(\\) \\(a primitive\\) nor forward\\(\\)"):
        register(Nothing)
    with pytest.raises(TypeError, match="HalfMacro is a macro \\(macro = True\\) but does not define expand\\(\\)"):
        register(HalfMacro)
    assert "nothing_defined" not in LAYER_TYPES and "half_macro" not in LAYER_TYPES

"""compare and check take modules too (the torch engine), with figures counted by hand."""

import textwrap

import pytest

import archlens
from archlens.cli import main

TINY = """
import torch.nn as nn

def tiny():
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(8, 10))
"""
# conv: 8 x 3 x 3 x 3 weights + 8 biases = 224; linear 8 x 10 + 10 = 90. MACs on 8x8: 8 x 8 x 8 x 27 + 80
PARAMS, MACS = 224 + 90, 8 * 8 * 8 * 27 + 80
MACS_224 = 224 * 224 * 8 * 27 + 80  # on 224x224, the input the spec is compared on too


def tiny():
    from torch import nn

    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(8, 10))


def test_check_a_module_instance():
    report = archlens.check(tiny(), max_macs=MACS, input_shape=(1, 3, 8, 8))
    assert report.ok and report.checks[0].measured == 13_904 == MACS
    assert not archlens.check(tiny(), max_macs=MACS - 1, input_shape=(1, 3, 8, 8)).ok


def test_compare_a_spec_with_a_module():
    result = archlens.comparison(["googlenet", tiny()], input_shape=(1, 3, 224, 224))
    google, module = result.networks
    assert google.input_shape == module.input_shape == (1, 3, 224, 224)  # one input for every network
    assert (google.params, google.macs) == (6_998_552, 1_582_671_872)
    assert (module.params, module.macs) == (PARAMS, MACS_224) == (314, 10_838_096)
    assert result.ratios(module)["params"] == pytest.approx(PARAMS / 6_998_552)


def test_cli_with_a_module_target(tmp_path, monkeypatch, capsys):
    (tmp_path / "tinymodels.py").write_text(textwrap.dedent(TINY))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["check", "tinymodels:tiny", "--input-shape", "1,3,8,8", "--max-params", "314"]) == 0
    assert main(["check", "tinymodels:tiny", "--input-shape", "1,3,8,8", "--max-params", "313"]) == 1
    capsys.readouterr()
    assert main(["compare", "googlenet", "tinymodels:tiny", "--input-shape", "1,3,224,224", "-f", "json"]) == 0
    assert '"macs": 10838096' in capsys.readouterr().out

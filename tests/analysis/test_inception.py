"""The Inception study, held to figures worked out by hand from the paper's Table 1 channel numbers."""

import pytest

from archlens.analysis.inception import inception_study, naive_variant
from archlens.counting.analytic import profile_spec
from archlens.errors import ArchlensError
from archlens.spec import load_spec
from tests.reference import INCEPTION_ROWS


@pytest.fixture(scope="module")
def study():
    return inception_study("googlenet")


def test_module_3a_by_hand(study):
    m = study.modules[0]
    assert m.name == "inception_3a" and m.input_shape == (192, 28, 28)
    # reduced (fig. 2b): 1x1 64; 1x1 96 then 3x3 128; 1x1 16 then 5x5 32; pool then 1x1 32
    reduced_weights = 192 * 64 + 192 * 96 + 96 * 9 * 128 + 192 * 16 + 16 * 25 * 32 + 192 * 32
    assert reduced_weights == 163_328
    assert m.reduced.weights == reduced_weights
    assert m.reduced.params == reduced_weights + (64 + 96 + 128 + 16 + 32 + 32)
    assert m.reduced.macs == reduced_weights * 28 * 28 == 128_049_152
    assert m.reduced.out_channels == 64 + 128 + 32 + 32 == 256
    # naive (fig. 2a): 1x1 64, 3x3 128, 5x5 32 on all 192 channels; the pool passes 192 channels through
    naive_weights = 192 * 64 + 192 * 9 * 128 + 192 * 25 * 32
    assert m.naive.weights == naive_weights == 387_072
    assert m.naive.params == naive_weights + 64 + 128 + 32
    assert m.naive.macs == naive_weights * 28 * 28 == 303_464_448
    assert m.naive.out_channels == 64 + 128 + 32 + 192 == 416
    assert m.macs_saved == 303_464_448 - 128_049_152
    assert m.macs_ratio == pytest.approx(303_464_448 / 128_049_152)


def test_every_module_on_its_table1_input(study):
    assert [m.name for m in study.modules] == list(INCEPTION_ROWS)
    for m in study.modules:
        c1, c3r, c3, c5r, c5, proj, channels, size = INCEPTION_ROWS[m.name]
        assert m.input_shape == (channels, size, size)
        assert m.reduced.weights == channels * (c1 + c3r + c5r + proj) + c3r * 9 * c3 + c5r * 25 * c5
        assert m.naive.weights == channels * (c1 + 9 * c3 + 25 * c5)
        assert m.naive.out_channels == c1 + c3 + c5 + channels
        assert m.reduced.out_channels == c1 + c3 + c5 + proj
        assert m.naive.macs == m.naive.weights * size * size


def test_cascade_channels_grow_from_stage_to_stage(study):
    rows = {row.name: row for row in study.cascade}
    # naive 3a gives 416 channels; 3b adds 128 + 192 + 96 to its 416 inputs; 4a adds 192 + 208 + 48 to 832
    assert rows["inception_3a"].naive_channels == 416
    assert rows["inception_3b"].naive_channels == 416 + 128 + 192 + 96 == 832
    assert rows["inception_4a"].naive_channels == 832 + 192 + 208 + 48 == 1280
    assert rows["inception_5b"].naive_channels == 4944 and rows["inception_5b"].reduced_channels == 1024
    # naive 3b sees 416 channels at 28x28, not 256: (416*128 + 416*9*192 + 416*25*96) * 784
    assert rows["inception_3b"].naive_macs == 416 * (128 + 9 * 192 + 25 * 96) * 784 == 1_388_068_864
    assert rows["fc"].naive_params == 4944 * 1000 + 1000
    last = study.cascade[-1]
    assert last.naive_cumulative_macs == study.naive_macs == 12_568_061_056
    assert last.reduced_cumulative_macs == study.reduced_macs == 1_582_671_872


def test_derived_naive_network_is_the_builtin_naive_googlenet():
    derived = profile_spec(naive_variant(load_spec("googlenet")))
    builtin = profile_spec(load_spec("googlenet-naive"))
    assert derived.totals.params == builtin.totals.params == 97_526_008
    assert derived.totals.macs == builtin.totals.macs


def test_study_of_the_naive_network_is_the_same_study(study):
    assert inception_study("googlenet-naive").modules == study.modules


def test_network_without_inception_is_an_error():
    with pytest.raises(ArchlensError, match="no top-level Inception modules"):
        inception_study("vgg16")

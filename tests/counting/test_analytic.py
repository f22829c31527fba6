"""The analytic engine against hand formulas and the GoogLeNet paper's Table 1."""

import pytest

import archlens
from tests.reference import INCEPTION_ROWS


def inception_weights(c1, r3, c3, r5, c5, pp, cin, k5=5):
    return cin * c1 + cin * r3 + r3 * 9 * c3 + cin * r5 + r5 * k5 * k5 * c5 + cin * pp


@pytest.mark.parametrize("module", sorted(INCEPTION_ROWS))
def test_googlenet_inception_modules_by_hand(module):
    c1, r3, c3, r5, c5, pp, cin, size = INCEPTION_ROWS[module]
    weights = inception_weights(c1, r3, c3, r5, c5, pp, cin)
    row = {r.name: r for r in archlens.profile("googlenet").rollup(1)}[module]
    assert row.weights == weights
    assert row.biases == c1 + r3 + c3 + r5 + c5 + pp
    assert row.macs == weights * size * size
    assert row.output_shape == (1, c1 + c3 + c5 + pp, size, size)


def test_inception_3a_is_the_papers_163328_weights():
    # REFERENCE.md: "inception 3a: 163,328 weights = 159.5K"; 128M ops.
    row = {r.name: r for r in archlens.profile("googlenet").rollup(1)}["inception_3a"]
    assert row.weights == 163_328
    assert row.macs == 128_049_152


def test_googlenet_total_macs_by_hand():
    stem = 7 * 7 * 3 * 64 * 112 * 112 + 64 * 64 * 56 * 56 + 64 * 9 * 192 * 56 * 56
    modules = sum(inception_weights(*row[:7]) * row[7] ** 2 for row in INCEPTION_ROWS.values())
    classifier = 1024 * 1000
    assert archlens.profile("googlenet").totals.macs == stem + modules + classifier == 1_582_671_872


def test_alexnet_2012_macs_by_hand():
    convs = (96 * 11 * 11 * 3 * 55 * 55 + 256 * 5 * 5 * 48 * 27 * 27 + 384 * 3 * 3 * 256 * 13 * 13
             + 384 * 3 * 3 * 192 * 13 * 13 + 256 * 3 * 3 * 192 * 13 * 13)
    fcs = 9216 * 4096 + 4096 * 4096 + 4096 * 1000
    assert archlens.profile("alexnet").totals.macs == convs + fcs


def test_googlenet_depth_matches_the_paper():
    depth = archlens.profile("googlenet").depth
    assert (depth.weighted, depth.with_pooling) == (22, 27)


def test_other_ops_columns_by_hand():
    rows = {r.name: r for r in archlens.profile("googlenet").layers}
    conv1 = rows["conv1.conv"]
    assert conv1.ops.bias_ops == 64 * 112 * 112
    assert rows["conv1.relu"].ops.activation_ops == 64 * 112 * 112
    assert rows["pool1"].ops.pool_ops == 64 * 56 * 56 * 9
    assert rows["norm1"].ops.norm_ops == 64 * 56 * 56 * (2 * 5 + 4)
    assert rows["pool5"].ops.pool_ops == 1024 * 49  # a 7x7 window for each of 1024 outputs
    assert rows["softmax"].ops.activation_ops == 3 * 1000
    bn = {r.name: r for r in archlens.profile("googlenet-torchvision").layers}["conv1.bn"]
    assert bn.ops.norm_ops == 2 * 64 * 112 * 112 and bn.weights == bn.biases == 64


def test_totals_are_the_sum_of_layers_and_flops_are_twice_macs():
    prof = archlens.profile("vgg16-bn")
    assert prof.totals.macs == sum(layer.macs for layer in prof.layers)
    assert prof.totals.params == sum(layer.params for layer in prof.layers)
    assert prof.totals.flops == 2 * prof.totals.macs


def test_batch_and_dtype_scale_linearly():
    one = archlens.profile("alexnet-torchvision")
    eight = archlens.profile("alexnet-torchvision", batch=8, dtype="float16")
    assert eight.totals.macs == 8 * one.totals.macs
    assert eight.totals.params == one.totals.params
    assert eight.totals.activation_bytes == 8 * one.totals.activation_elements * 2


def test_rollup_keeps_totals(builtin):
    prof = archlens.profile(builtin)
    for depth in (1, 2, 3):
        rows = prof.rollup(depth)
        assert sum(r.macs for r in rows) == prof.totals.macs
        assert sum(r.params for r in rows) == prof.totals.params

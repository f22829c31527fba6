"""The ``regnet`` macro's stage plan is torchvision's, float32 rounding included."""

import doctest

import pytest

import archlens.layers.regnet as regnet

# (depth, w_0, w_a, w_m, group width) as torchvision 0.29.1's models/regnet.py passes them, and the
# (width, blocks, group width) of each stage its BlockParams.from_init_params computes from them.
TORCHVISION = [
    ("regnet_y_400mf", (16, 48, 27.89, 2.09, 8), [(48, 1, 8), (104, 3, 8), (208, 6, 8), (440, 6, 8)]),
    ("regnet_y_800mf", (14, 56, 38.84, 2.4, 16), [(64, 1, 16), (144, 3, 16), (320, 8, 16), (784, 2, 16)]),
    ("regnet_y_1_6gf", (27, 48, 20.71, 2.65, 24), [(48, 2, 24), (120, 6, 24), (336, 17, 24), (888, 2, 24)]),
    ("regnet_y_3_2gf", (21, 80, 42.63, 2.66, 24), [(72, 2, 24), (216, 5, 24), (576, 13, 24), (1512, 1, 24)]),
    ("regnet_y_8gf", (17, 192, 76.82, 2.19, 56), [(224, 2, 56), (448, 4, 56), (896, 10, 56), (2016, 1, 56)]),
    ("regnet_y_16gf", (18, 200, 106.23, 2.48, 112),
     [(224, 2, 112), (448, 4, 112), (1232, 11, 112), (3024, 1, 112)]),
    ("regnet_y_32gf", (20, 232, 115.89, 2.53, 232),
     [(232, 2, 232), (696, 5, 232), (1392, 12, 232), (3712, 1, 232)]),
    ("regnet_y_128gf", (27, 456, 160.83, 2.52, 264),
     [(528, 2, 264), (1056, 7, 264), (2904, 17, 264), (7392, 1, 264)]),
    ("regnet_x_400mf", (22, 24, 24.48, 2.54, 16), [(32, 1, 16), (64, 2, 16), (160, 7, 16), (400, 12, 16)]),
    ("regnet_x_800mf", (16, 56, 35.73, 2.28, 16), [(64, 1, 16), (128, 3, 16), (288, 7, 16), (672, 5, 16)]),
    ("regnet_x_1_6gf", (18, 80, 34.01, 2.25, 24), [(72, 2, 24), (168, 4, 24), (408, 10, 24), (912, 2, 24)]),
    ("regnet_x_3_2gf", (25, 88, 26.31, 2.25, 48), [(96, 2, 48), (192, 6, 48), (432, 15, 48), (1008, 2, 48)]),
    ("regnet_x_8gf", (23, 80, 49.56, 2.88, 120), [(80, 2, 80), (240, 5, 120), (720, 15, 120), (1920, 1, 120)]),
    ("regnet_x_16gf", (22, 216, 55.59, 2.1, 128), [(256, 2, 128), (512, 6, 128), (896, 13, 128), (2048, 1, 128)]),
    ("regnet_x_32gf", (23, 320, 69.86, 2.0, 168), [(336, 2, 168), (672, 7, 168), (1344, 13, 168), (2520, 1, 168)]),
]


@pytest.mark.parametrize("name, design, stages", TORCHVISION, ids=[row[0] for row in TORCHVISION])
def test_stage_plan_is_torchvisions(name, design, stages):
    assert regnet.stage_plan(*design, bottleneck_multiplier=1.0) == stages


def test_docstring_examples():
    # the float32 ties: 360 x 2.3 / 8 and 440 x 2.1 / 8 round as torchvision's float32 tensors do
    result = doctest.testmod(regnet, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 3 and result.failed == 0

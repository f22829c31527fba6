"""Each peer's convention applied to archlens's columns: GoogLeNet's predicted peer figures.

GoogLeNet (README "What you get"): 1,582,671,872 MACs, 3,227,160 bias adds, no BatchNorm, a 7x7
average pool to 1x1x1024 (1,024 outputs) and a softmax over 1,000 classes.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import conventions  # noqa: E402
import networks  # noqa: E402

MACS, BIAS = 1_582_671_872, 3_227_160


@pytest.fixture(scope="module")
def googlenet_terms():
    return networks.terms("googlenet")


@pytest.mark.parametrize(("tool", "expected", "reasons"), [
    ("fvcore", MACS, {}),
    ("flop_counter", 2 * MACS, {}),
    ("ptflops_aten", MACS + BIAS, {"bias adds": BIAS}),
    ("torchinfo", MACS + BIAS, {"bias adds": BIAS}),
    # thop: 1 per output of the average pool, rows x (3n - 1) = 2,999 for the softmax
    ("thop", MACS + 1_024 + 2_999, {"avg pool: 1 per output element": 1_024, "nn.Softmax: rows x (3n - 1)": 2_999}),
])
def test_googlenet_predictions(googlenet_terms, tool, expected, reasons):
    prediction = conventions.predict(tool, googlenet_terms)
    assert prediction["predicted"] == expected
    assert prediction["reasons"] == reasons


def test_attention_module_terms_follow_the_hand_count():
    # conv 4x4/4 3->64 on 32x32: 64*8*8 outputs x 48 = 196,608; qkv 64 tokens x 64 x 192 = 786,432;
    # SDPA 4 heads x 64 x 64 x (16 + 16) = 524,288; proj 262,144; q @ k^T and softmax @ v 262,144 each;
    # head 640
    terms = networks.attention_terms()
    assert sum(t.ops.macs for t in terms) == 196_608 + 786_432 + 524_288 + 262_144 + 2 * 262_144 + 640
    # FlopCounterMode on meta counts all of them, doubled; thop sees none of the functional products
    assert conventions.predict("flop_counter", terms)["predicted"] == 2 * 2_294_400
    assert conventions.predict("thop", terms)["reasons"] == {
        "matmul_fn not counted": -262_144, "matmul_op not counted": -262_144, "sdpa not counted": -524_288}

"""Networks side by side, with ratios to the first."""

import pytest

import archlens
from archlens.analysis.compare import comparison
from archlens.errors import ArchlensError


@pytest.fixture(scope="module")
def result():
    return comparison(["googlenet", "googlenet-naive", "alexnet", "vgg16"])


def test_figures_and_ratios(result):
    google, naive, alex, vgg = result.networks
    assert (google.params, google.macs) == (6_998_552, 1_582_671_872)
    assert (alex.params, alex.macs) == (60_965_224, 724_406_816)
    assert (vgg.params, vgg.macs) == (138_357_544, 15_470_264_320)
    assert naive.params == 97_526_008
    assert google.flops == 2 * google.macs
    assert (google.depth_weighted, google.depth_with_pooling) == (22, 27)
    assert result.ratios(alex)["params"] == pytest.approx(60_965_224 / 6_998_552)  # 8.71
    assert result.ratios(vgg)["macs"] == pytest.approx(15_470_264_320 / 1_582_671_872)  # 9.77
    assert result.ratios(google) == {key: 1.0 for key in result.ratios(google)}


def test_activations_are_bytes_of_all_outputs(result):
    google = result.networks[0]
    assert google.activation_bytes == 4 * google.activation_elements == 4 * 9_913_264


def test_published_accuracy_from_the_spec(result):
    vgg = result.networks[3]
    assert (vgg.top1, vgg.top5) == (71.592, 90.382)  # torchvision's VGG16_Weights.IMAGENET1K_V1
    assert result.networks[0].top1 is None


def test_python_api_returns_a_dataframe():
    frame = archlens.compare("googlenet", "alexnet")
    assert list(frame["name"]) == ["googlenet", "alexnet"]
    assert frame["params"].tolist() == [6_998_552, 60_965_224]
    assert frame.loc[1, "params_ratio"] == pytest.approx(8.711120, abs=1e-6)
    assert archlens.compare(["googlenet", "alexnet"]).equals(frame)


def test_nothing_to_compare():
    with pytest.raises(ArchlensError, match="nothing to compare"):
        comparison([])


def test_compare_a_decoding_step_shows_each_kv_cache():
    """compare --decode had no cache row. By hand, float32, 1,023 cached tokens: GPT-2 keeps keys and values
    of 12 layers x 768 features (12 x 2 x 768 x 1023 x 4 = 75,423,744 bytes); Llama-3-8B of 32 layers x
    8 key-value heads x 128 (32 x 2 x 1024 x 1023 x 4 = 268,173,312)."""
    from archlens.analysis.compare import comparison

    result = comparison(["gpt2", "llama-3-8b"], decode=1023)
    assert [net.kv_cache_bytes for net in result.networks] == [12 * 2 * 768 * 1023 * 4, 32 * 2 * 1024 * 1023 * 4]
    assert [net.kv_cache_bytes for net in result.networks] == [75_423_744, 268_173_312]
    data = result.to_dict()
    assert data["decode"] == 1023 and data["networks"][1]["kv_cache_bytes"] == 268_173_312
    text = result.render("table")
    assert "decoding step after a KV cache of 1,023 tokens" in text
    assert "KV cache (1,023 tokens)" in text and "255.75 MiB" in text
    assert "kv_cache_bytes" not in comparison(["gpt2"]).render("csv")  # not decoding: no such column

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

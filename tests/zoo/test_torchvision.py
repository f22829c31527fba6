"""torchvision's classification, segmentation, video and optical-flow zoos on the meta device, and its
detection zoo on the CPU: archlens's MACs equal FlopCounterMode's FLOPs / 2, every parameter counts
once, and nothing is left not counted (``strict``)."""

import pytest
import torch

from archlens.counting.torch import Inputs, TensorSpec, profile_module
from archlens.errors import TargetError

from .conftest import build, flop_counter_macs, unique_parameters

torchvision = pytest.importorskip("torchvision")
pytestmark = pytest.mark.zoo

from torchvision.models import get_model, get_model_weights, list_models  # noqa: E402


def _eval_size(name):
    return get_model_weights(name).DEFAULT.transforms().crop_size[0]


def _classifier(name):
    options = {"inception_v3": {"init_weights": False}, "googlenet": {"init_weights": False},
               "vit_h_14": {"image_size": 518}}.get(name, {})
    return lambda: get_model(name, weights=None, **options)


@pytest.mark.parametrize("name", list_models(module=torchvision.models))
def test_classification(name, agree):
    size = _eval_size(name)
    meta_input = torch.empty(1, 3, size, size, device="meta")
    agree(build(_classifier(name)), TensorSpec((1, 3, size, size)), args=(meta_input,))


def test_swin_v2_t_gives_torchvisions_published_figure():
    profile = profile_module(build(_classifier("swin_v2_t")), (1, 3, 256, 256), strict=True)
    assert profile.totals.macs == 5_939_690_496  # torchvision's weights metadata: 5.940 GFLOPS
    assert profile.totals.params == 28_351_570


def test_inception_v3_blocks_show_their_own_output():
    profile = profile_module(build(_classifier("inception_v3")), (1, 3, 299, 299))
    rows = {row.name: row for row in profile.rollup(1)}
    assert rows["Mixed_5b"].output_shape == (1, 256, 35, 35)  # not its last branch's 1x32x35x35
    assert rows["Mixed_7c"].output_shape == (1, 2048, 8, 8)


@pytest.mark.parametrize("name", list_models(module=torchvision.models.segmentation))
def test_segmentation(name, agree):
    model = build(lambda: get_model(name, weights=None, weights_backbone=None))
    agree(model, TensorSpec((1, 3, 520, 520)), args=(torch.empty(1, 3, 520, 520, device="meta"),))


@pytest.mark.parametrize("name", list_models(module=torchvision.models.video))
def test_video(name, agree):
    shape = (1, 3, 16, 224, 224) if name.startswith(("mvit", "swin3d", "s3d")) else (1, 3, 16, 112, 112)
    agree(build(lambda: get_model(name, weights=None)), TensorSpec(shape), args=(torch.empty(shape, device="meta"),))


@pytest.mark.parametrize("name", list_models(module=torchvision.models.optical_flow))
def test_optical_flow(name, agree):
    frame = TensorSpec((1, 3, 128, 128))
    meta = torch.empty(1, 3, 128, 128, device="meta")
    agree(build(lambda: get_model(name, weights=None)), Inputs(frame, frame), args=(meta, meta))


DETECTION = ["fasterrcnn_mobilenet_v3_large_320_fpn", "retinanet_resnet50_fpn", "ssdlite320_mobilenet_v3_large"]


@pytest.mark.parametrize("name", DETECTION)
def test_detection_names_the_op_on_meta_and_agrees_on_the_cpu(name):
    options = {} if name.startswith("ssd") else {"min_size": 320, "max_size": 320}
    def factory():
        return get_model(name, weights=None, weights_backbone=None, **options)

    with pytest.raises(TargetError, match=r"cannot run on the meta device .*device='cpu'"):
        profile_module(build(factory), inputs=Inputs([TensorSpec((3, 320, 320))]))
    # a fresh model: the meta run left meta tensors in the anchor generator's cache (a plain attribute)
    model = build(factory, device="cpu")
    image = torch.randn(3, 320, 320, generator=torch.Generator().manual_seed(0))
    profile = profile_module(model, inputs=Inputs([image]), device="cpu")
    assert profile.totals.macs == flop_counter_macs(model, ([image],))
    assert profile.totals.params == unique_parameters(model)
    # what remains listed has no formula yet: ranking and box ops
    assert {item.op for item in profile.unsupported} <= {"aten.topk", "aten.sort", "torchvision.nms",
                                                         "torchvision.roi_align"}

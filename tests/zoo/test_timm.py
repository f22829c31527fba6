"""timm's common families on the meta device: archlens's MACs equal FlopCounterMode's FLOPs / 2,
every parameter counts once, nothing is left not counted."""

import pytest
import torch

from archlens.counting.torch import TensorSpec

from .conftest import build

timm = pytest.importorskip("timm")
pytestmark = pytest.mark.zoo

FAMILIES = """
resnet50 resnet18d resnext50_32x4d seresnet50 ecaresnet50d skresnet18 res2net50_26w_4s resnest14d regnety_016
regnetz_b16 efficientnet_b0 efficientnetv2_rw_s mobilenetv3_large_100 mobilenetv2_100 mnasnet_100 ghostnet_100
ghostnetv2_100 rexnet_100 lcnet_050 tinynet_a mixnet_s mobilenetv4_conv_small hgnetv2_b0 repvit_m1 starnet_s1
convnext_atto convnextv2_atto convmixer_768_32 densenet121 dla34 dpn68 hrnet_w18_small inception_v3 inception_v4
xception41 vgg11_bn repvgg_a0 nf_resnet26 nfnet_f0 dm_nfnet_f0 cspresnet50 cspdarknet53 darknet53 selecsls42b
tresnet_m vit_tiny_patch16_224 vit_small_patch16_224 deit_tiny_patch16_224 deit_tiny_distilled_patch16_224
vit_base_patch16_siglip_224 vit_small_patch16_rope_224 beit_base_patch16_224 beitv2_base_patch16_224
eva02_tiny_patch14_224 cait_xxs24_224 xcit_nano_12_p16_224 crossvit_tiny_240 levit_128s pit_ti_224
tnt_s_patch16_224 twins_svt_small pvt_v2_b0 mvitv2_tiny swin_tiny_patch4_window7_224 swinv2_tiny_window8_256
swinv2_cr_tiny_224 maxvit_tiny_tf_224 coatnet_0_rw_224 coat_lite_tiny davit_tiny gcvit_xxtiny efficientformer_l1
efficientformerv2_s0 efficientvit_b0 efficientvit_m0 fastvit_t8 fastvit_mci0 mobilevit_xxs mobilevitv2_050
edgenext_xx_small poolformer_s12 poolformerv2_s12 convit_tiny volo_d1_224 sequencer2d_s mixer_b16_224
resmlp_12_224 gmlp_ti16_224 hiera_tiny_224 nest_tiny inception_next_tiny mambaout_femto tiny_vit_5m_224
rdnet_tiny vitamin_small_224 focalnet_tiny_srf
""".split()


@pytest.mark.parametrize("name", FAMILIES)
def test_timm_family(name, agree):
    if name not in timm.list_models():
        pytest.skip(f"{name} is not in this timm version")
    size = timm.models.get_pretrained_cfg(name).input_size
    model = build(lambda: timm.create_model(name, pretrained=False))
    agree(model, TensorSpec((1, *size)), args=(torch.empty(1, *size, device="meta"),))

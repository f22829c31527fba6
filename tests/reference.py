"""Published figures the built-in networks are held against, each with its source.

Sources:
- torchvision: weight metadata of torchvision.models (``num_params``; "GFLOPS" are conv+linear
  multiply-accumulates); the exact MAC integers were counted on torchvision's own modules (batch 1,
  224x224) with torch.utils.flop_counter.FlopCounterMode (its FLOPs / 2). See shared REFERENCE.md.
- Krizhevsky et al. 2012 (AlexNet as published): 60,965,224 parameters with biases.
- Szegedy et al. 2014 (GoogLeNet), Table 1: per-row weights (K = 1024) and ops (millions).
"""

# name -> (params in inference mode, conv+linear MACs or None where no published integer exists)
PUBLISHED = {
    "googlenet-torchvision": (6_624_904, 1_498_376_192),
    "alexnet": (60_965_224, None),
    "alexnet-torchvision": (61_100_840, 714_188_480),
    "vgg11": (132_863_336, 7_609_090_048),
    "vgg11-bn": (132_868_840, 7_609_090_048),
    "vgg13": (133_047_848, 11_308_466_176),
    "vgg13-bn": (133_053_736, 11_308_466_176),
    "vgg16": (138_357_544, 15_470_264_320),
    "vgg16-bn": (138_365_992, 15_470_264_320),
    "vgg19": (143_667_240, 19_632_062_464),
    "vgg19-bn": (143_678_248, 19_632_062_464),
}

# torchvision's GoogLeNet with its two auxiliary heads (aux_logits=True).
GOOGLENET_TORCHVISION_WITH_AUX = 13_004_888

# GoogLeNet Table 1: (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj, input channels, spatial size)
INCEPTION_ROWS = {
    "inception_3a": (64, 96, 128, 16, 32, 32, 192, 28),
    "inception_3b": (128, 128, 192, 32, 96, 64, 256, 28),
    "inception_4a": (192, 96, 208, 16, 48, 64, 480, 14),
    "inception_4b": (160, 112, 224, 24, 64, 64, 512, 14),
    "inception_4c": (128, 128, 256, 24, 64, 64, 512, 14),
    "inception_4d": (112, 144, 288, 32, 64, 64, 512, 14),
    "inception_4e": (256, 160, 320, 32, 128, 128, 528, 14),
    "inception_5a": (256, 160, 320, 32, 128, 128, 832, 7),
    "inception_5b": (384, 192, 384, 48, 128, 128, 832, 7),
}
# Table 1's printed "params" (K = 1024) and "ops" (M) per Inception module.
TABLE1_PRINTED = {
    "inception_3a": (159, 128), "inception_3b": (380, 304), "inception_4a": (364, 73),
    "inception_4b": (437, 88), "inception_4c": (463, 100), "inception_4d": (580, 119),
    "inception_4e": (840, 170), "inception_5a": (1072, 54), "inception_5b": (1388, 71),
}

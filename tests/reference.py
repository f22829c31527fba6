"""The GoogLeNet paper's Table 1 (Szegedy et al. 2014): per-row weights (K = 1024) and ops (millions).

Each built-in network's published figures live in its own spec file (``metadata.reference``,
checked by tests/spec/test_references.py).
"""

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

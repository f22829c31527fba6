"""Published figures of "Going deeper with convolutions" (Szegedy et al. 2014, arXiv:1409.4842).

The sentences the paper's quantitative argument rests on (Table 1 itself lives in
:mod:`archlens.analysis.table1`).
"""

from __future__ import annotations

PARAMS_CLAIM = (
    "Our GoogLeNet submission to ILSVRC 2014 actually uses 12 times fewer parameters than the winning "
    "architecture of Krizhevsky et al [9] from two years ago"
)
BUDGET_CLAIM = "a computational budget of 1.5 billion multiply-adds at inference time"
DEPTH_CLAIM = "The network is 22 layers deep when counting only layers with parameters (or 27 layers if we also count pooling)"
BLOCKS_CLAIM = (
    "The overall number of layers (independent building blocks) used for the construction of the network "
    "is about 100. However this number depends on the machine learning infrastructure system used."
)

# The same authors' later figure for GoogLeNet ("Rethinking the Inception Architecture for Computer
# Vision", Szegedy et al. 2015, arXiv:1512.00567, section 1): "GoogLeNet employed only 5 million
# parameters, which represented a 12x reduction with respect to its predecessor AlexNet, which used
# 60 million parameters."
LATER_PARAMS_FIGURE = 5_000_000
ALEXNET_ROUND_FIGURE = 60_000_000

"""Record kinds: what a module's record and group are called (``conv``, ``layer_norm``, ``attention``)."""

from __future__ import annotations

from torch import nn

LEAF_KINDS: dict[type, str] = {
    nn.modules.conv._ConvTransposeNd: "conv_transpose",
    nn.modules.conv._ConvNd: "conv",
    nn.modules.batchnorm._BatchNorm: "batchnorm",
    nn.modules.instancenorm._InstanceNorm: "instance_norm",
    nn.LayerNorm: "layer_norm",
    nn.GroupNorm: "group_norm",
    nn.LocalResponseNorm: "lrn",
    nn.ReLU: "relu",
    nn.ReLU6: "relu6",
    nn.Hardtanh: "hardtanh",
    nn.LeakyReLU: "leaky_relu",
    nn.PReLU: "prelu",
    nn.ELU: "elu",
    nn.SELU: "elu",
    nn.CELU: "celu",
    nn.GELU: "gelu",
    nn.SiLU: "silu",
    nn.Sigmoid: "sigmoid",
    nn.Tanh: "tanh",
    nn.Hardsigmoid: "hardsigmoid",
    nn.Hardswish: "hardswish",
    nn.Softplus: "softplus",
    nn.Mish: "mish",
    nn.GLU: "glu",
    nn.LogSigmoid: "log_sigmoid",
    nn.Threshold: "threshold",
    nn.Softmax: "softmax",
    nn.LogSoftmax: "log_softmax",
    nn.modules.pooling._MaxPoolNd: "maxpool",
    nn.modules.pooling._AvgPoolNd: "avgpool",
    nn.modules.pooling._AdaptiveAvgPoolNd: "adaptive_avgpool",
    nn.modules.pooling._AdaptiveMaxPoolNd: "adaptive_maxpool",
    nn.Upsample: "upsample",
    nn.modules.dropout._DropoutNd: "dropout",
    nn.Flatten: "flatten",
    nn.Unflatten: "unflatten",
    nn.Identity: "identity",
    nn.Linear: "linear",
    nn.Bilinear: "bilinear",
    nn.Embedding: "embedding",
    nn.EmbeddingBag: "embedding_bag",
    nn.MultiheadAttention: "attention",
    nn.RNNBase: "rnn",
    nn.LSTM: "lstm",
    nn.GRU: "gru",
    nn.modules.rnn.RNNCellBase: "rnn_cell",
    nn.LSTMCell: "lstm_cell",
    nn.GRUCell: "gru_cell",
    nn.ChannelShuffle: "channel_shuffle",
    nn.PixelShuffle: "pixel_shuffle",
    nn.PixelUnshuffle: "pixel_unshuffle",
    nn.Unfold: "unfold",
    nn.Fold: "fold",
    nn.modules.padding._ConstantPadNd: "pad",
    nn.modules.padding._ReflectionPadNd: "pad",
    nn.modules.padding._ReplicationPadNd: "pad",
    **({nn.RMSNorm: "rms_norm"} if hasattr(nn, "RMSNorm") else {}),
}
"""Record kinds of PyTorch's own modules (subclasses included): modules archlens builds name their
kind themselves (``archlens_kind``)."""


def leaf_kind(module: nn.Module) -> str:
    """The record kind of a leaf module: its ``archlens_kind`` (modules archlens builds name their
    layer type), else by class (subclasses included), else the lowercased class name."""
    own = getattr(module, "archlens_kind", None)
    return own if own is not None else class_kind(module)


def class_kind(module: nn.Module) -> str:
    """The kind :data:`LEAF_KINDS` gives the module's class (or a base class), else its lowercased name."""
    for cls in type(module).__mro__:
        kind = LEAF_KINDS.get(cls)
        if kind is not None:
            return kind
    return type(module).__name__.lower()


def group_kind(module: nn.Module) -> str:
    """A container's group kind: its ``archlens_kind`` if it has one, else as :func:`class_kind`."""
    return getattr(module, "archlens_kind", None) or class_kind(module)

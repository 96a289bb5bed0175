"""Every layer importable from the module PyTorch defines it in (``torch.nn.modules.activation``).

glassgrad groups its layers by its own families; scripts import them by PyTorch's paths
(``from torch.nn.modules.activation import MultiheadAttention``), and pickles name them by those
paths. This table gives each layer PyTorch's module, creating the modules glassgrad has no file
for, and sets each class's ``__module__`` to that path, as PyTorch's classes report it.
"""

from __future__ import annotations

import importlib
import sys
import types

# PyTorch's module for each layer; names glassgrad does not (yet) have are skipped.
TORCH_PATHS = {
    "activation": "Threshold ReLU RReLU Hardtanh ReLU6 Sigmoid Hardsigmoid Tanh SiLU Mish "
    "Hardswish ELU CELU SELU GLU GELU Hardshrink LeakyReLU LogSigmoid Softplus Softshrink "
    "MultiheadAttention PReLU Softsign Tanhshrink Softmin Softmax Softmax2d LogSoftmax",
    "adaptive": "AdaptiveLogSoftmaxWithLoss",
    "batchnorm": "BatchNorm1d BatchNorm2d BatchNorm3d LazyBatchNorm1d LazyBatchNorm2d "
    "LazyBatchNorm3d SyncBatchNorm",
    "channelshuffle": "ChannelShuffle",
    "container": "Sequential ModuleList ModuleDict ParameterList ParameterDict",
    "conv": "Conv1d Conv2d Conv3d ConvTranspose1d ConvTranspose2d ConvTranspose3d LazyConv1d "
    "LazyConv2d LazyConv3d LazyConvTranspose1d LazyConvTranspose2d LazyConvTranspose3d",
    "distance": "PairwiseDistance CosineSimilarity",
    "dropout": "Dropout Dropout1d Dropout2d Dropout3d AlphaDropout FeatureAlphaDropout",
    "flatten": "Flatten Unflatten",
    "fold": "Fold Unfold",
    "instancenorm": "InstanceNorm1d InstanceNorm2d InstanceNorm3d LazyInstanceNorm1d "
    "LazyInstanceNorm2d LazyInstanceNorm3d",
    "linear": "Identity Linear Bilinear LazyLinear NonDynamicallyQuantizableLinear",
    "loss": "L1Loss NLLLoss NLLLoss2d PoissonNLLLoss GaussianNLLLoss KLDivLoss MSELoss BCELoss "
    "BCEWithLogitsLoss HingeEmbeddingLoss MultiLabelMarginLoss SmoothL1Loss HuberLoss "
    "SoftMarginLoss CrossEntropyLoss MultiLabelSoftMarginLoss CosineEmbeddingLoss "
    "MarginRankingLoss MultiMarginLoss TripletMarginLoss TripletMarginWithDistanceLoss CTCLoss",
    "module": "Module",
    "normalization": "LocalResponseNorm CrossMapLRN2d LayerNorm GroupNorm RMSNorm",
    "padding": "CircularPad1d CircularPad2d CircularPad3d ConstantPad1d ConstantPad2d "
    "ConstantPad3d ReflectionPad1d ReflectionPad2d ReflectionPad3d ReplicationPad1d "
    "ReplicationPad2d ReplicationPad3d ZeroPad1d ZeroPad2d ZeroPad3d",
    "pixelshuffle": "PixelShuffle PixelUnshuffle",
    "pooling": "MaxPool1d MaxPool2d MaxPool3d MaxUnpool1d MaxUnpool2d MaxUnpool3d AvgPool1d "
    "AvgPool2d AvgPool3d FractionalMaxPool2d FractionalMaxPool3d LPPool1d LPPool2d LPPool3d "
    "AdaptiveMaxPool1d AdaptiveMaxPool2d AdaptiveMaxPool3d AdaptiveAvgPool1d AdaptiveAvgPool2d "
    "AdaptiveAvgPool3d",
    "rnn": "RNNBase RNN LSTM GRU RNNCellBase RNNCell LSTMCell GRUCell",
    "sparse": "Embedding EmbeddingBag",
    "transformer": "Transformer TransformerEncoder TransformerDecoder TransformerEncoderLayer "
    "TransformerDecoderLayer",
    "upsampling": "Upsample UpsamplingNearest2d UpsamplingBilinear2d",
}

_PACKAGE = "glassgrad.nn.modules"


def _module(name: str) -> types.ModuleType:
    """glassgrad's module at PyTorch's path: its own file if it has one, else a new module."""
    full = f"{_PACKAGE}.{name}"
    try:
        return importlib.import_module(full)
    except ModuleNotFoundError as exc:
        if exc.name != full:
            raise
    module = types.ModuleType(full, f"PyTorch's ``torch.nn.modules.{name}`` path.")
    sys.modules[full] = module
    setattr(sys.modules[_PACKAGE], name, module)
    return module


def _find(cls_name: str):
    """A class that glassgrad defines but does not export from ``nn`` (as PyTorch does not)."""
    for full, module in list(sys.modules.items()):
        if full.startswith(_PACKAGE) and isinstance(getattr(module, cls_name, None), type):
            return getattr(module, cls_name)
    return None


def install(layers) -> None:
    """Put each class of ``layers`` (``glassgrad.nn``'s namespace) at PyTorch's path."""
    for name, names in TORCH_PATHS.items():
        module = _module(name)
        for cls_name in names.split():
            cls = getattr(layers, cls_name, None) or _find(cls_name)
            if cls is None:
                continue
            setattr(module, cls_name, cls)
            if cls.__module__.startswith(_PACKAGE):
                cls.__module__ = module.__name__

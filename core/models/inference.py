"""Inference form of a MultiExitNet: BatchNorm folded into the convolutions, channels-last memory.

Both change nothing a user sees (the same labels, logits equal to float rounding) and
make a MobileNet-class network about 1.4x faster on a CPU: eager PyTorch runs each
BatchNorm as its own pass over the activations, and oneDNN's depthwise and 1x1
convolutions are faster on NHWC tensors. The folded network cannot be trained or
saved (its BatchNorm layers are gone); load a model with ``inference=True`` for
evaluation, profiling, search and live video, and without it for training.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from core.models.network import MultiExitNet

INFERENCE_FLAG = "inference_optimized"


def _fold_batchnorm(module: nn.Module) -> int:
    """Fold every BatchNorm2d that directly follows a Conv2d in a Sequential; returns how many."""
    folded = 0
    for child in module.children():
        folded += _fold_batchnorm(child)
    if isinstance(module, nn.Sequential):
        names = list(module._modules)
        for first, second in zip(names, names[1:]):
            conv, norm = module._modules[first], module._modules[second]
            if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d) and norm.track_running_stats:
                module._modules[first] = fuse_conv_bn_eval(conv, norm)
                module._modules[second] = nn.Identity()
                folded += 1
    return folded


def optimize_for_inference(net: MultiExitNet) -> MultiExitNet:
    """Fold BatchNorm and switch to channels-last, in place (eval mode); returns ``net``."""
    if is_inference_optimized(net):
        return net
    net.eval()
    with torch.no_grad():
        _fold_batchnorm(net)
    net.to(memory_format=torch.channels_last)
    setattr(net, INFERENCE_FLAG, True)
    return net


def is_inference_optimized(net: nn.Module) -> bool:
    return bool(getattr(net, INFERENCE_FLAG, False))

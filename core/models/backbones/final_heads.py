"""Final segmentation heads for plain backbones, in a registry.

Each factory receives the block list (the last block feeds the head), the
blocks it taps by name, and the class count. A final head's ``forward`` takes
the last feature map and a dict of tapped feature maps.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn
from torchvision.models.segmentation.deeplabv3 import ASPP
from torchvision.models.segmentation.fcn import FCNHead
from torchvision.models.segmentation.lraspp import LRASPPHead

from core.models.backbones.base import Block
from core.registry import Registry


class SingleInputHead(nn.Module):
    """A head that reads only the last feature map."""

    def __init__(self, head: nn.Module) -> None:
        super().__init__()
        self.head = head

    def forward(self, x: torch.Tensor, taps: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.head(x)


class LRASPPFinalHead(nn.Module):
    """torchvision's LR-ASPP head: reads the last map ('high') and the 'low' tap."""

    def __init__(self, head: LRASPPHead) -> None:
        super().__init__()
        self.head = head

    def forward(self, x: torch.Tensor, taps: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.head({"low": taps["low"], "high": x})


def deeplabv3_head(in_channels: int, stride: int, num_classes: int) -> nn.Sequential:
    """torchvision's DeepLabHead layout, with ASPP rates matched to the output stride."""
    base = {8: (12, 24, 36), 16: (6, 12, 18), 32: (3, 6, 9)}[stride]
    return nn.Sequential(
        ASPP(in_channels, list(base)),
        nn.Conv2d(256, 256, 3, padding=1, bias=False),
        nn.BatchNorm2d(256),
        nn.ReLU(),
        nn.Conv2d(256, num_classes, 1),
    )


FinalHeadBuilder = Callable[[Block, dict[str, Block], int], nn.Module]
FINAL_HEADS: Registry[FinalHeadBuilder] = Registry("final head")
FINAL_HEADS.add("deeplabv3", lambda last, taps, nc: SingleInputHead(deeplabv3_head(last.channels, last.stride, nc)))
FINAL_HEADS.add("fcn", lambda last, taps, nc: SingleInputHead(FCNHead(last.channels, nc)))
FINAL_HEADS.add("lraspp", lambda last, taps, nc: LRASPPFinalHead(
    LRASPPHead(taps["low"].channels, last.channels, nc, 128)))

# The taps a final head needs, by tap name (adapters say which block feeds each).
FINAL_HEAD_TAPS: dict[str, tuple[str, ...]] = {"deeplabv3": (), "fcn": (), "lraspp": ("low",), "native": ()}

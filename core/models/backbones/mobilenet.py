"""MobileNetV2 and MobileNetV3-Large adapters (optionally dilated)."""

from __future__ import annotations

from pathlib import Path

from torch import nn
from torchvision.models import mobilenet_v2 as tv_mobilenet_v2
from torchvision.models import mobilenet_v3_large as tv_mobilenet_v3_large

from core.models.backbones.base import Block, SlicedBackbone, slice_blocks
from core.models.backbones.final_heads import FINAL_HEAD_TAPS, FINAL_HEADS
from core.models.pretrained import load_pretrained


def _block_out_channels(block: nn.Module) -> int:
    convs = [m for m in block.modules() if isinstance(m, nn.Conv2d)]
    return convs[-1].out_channels


def _block_stride(block: nn.Module) -> int:
    return max((m.stride[0] for m in block.modules() if isinstance(m, nn.Conv2d)), default=1)


def dilate_features(features: list[nn.Module], output_stride: int) -> None:
    """Remove strides past ``output_stride`` and dilate the 3x3+ convs after them instead."""
    stride, dilation = 1, 1
    for block in features:
        block_stride = _block_stride(block)
        if stride * block_stride > output_stride:
            for conv in block.modules():
                if isinstance(conv, nn.Conv2d) and conv.stride[0] > 1:
                    conv.stride = (1, 1)
            dilation *= block_stride
        else:
            stride *= block_stride
        if dilation > 1:
            for conv in block.modules():
                if isinstance(conv, nn.Conv2d) and conv.kernel_size[0] > 1:
                    conv.dilation = (dilation, dilation)
                    conv.padding = ((conv.kernel_size[0] - 1) // 2 * dilation,) * 2


def feature_blocks(features: list[nn.Module]) -> list[Block]:
    blocks, stride = [], 1
    for i, block in enumerate(features):
        stride *= _block_stride(block)
        blocks.append(Block(f"features.{i}", block, _block_out_channels(block), stride=stride))
    return blocks


def _build(net: nn.Module, n_features: int, exits: list[str], low_tap: str, num_classes: int, options: dict,
           weights: Path | None) -> SlicedBackbone:
    if weights is not None:
        load_pretrained(net, weights)
    features = list(net.features)[:n_features]
    dilate_features(features, options["output_stride"])
    blocks = feature_blocks(features)
    head_name = options["final_head"]
    taps = {tap: low_tap for tap in FINAL_HEAD_TAPS[head_name]}
    index = {b.name: b for b in blocks}
    head = FINAL_HEADS.get(head_name)(blocks[-1], {t: index[n] for t, n in taps.items()}, num_classes)
    return slice_blocks(blocks, exits, taps, final_head=head)


def build_mobilenet_v2(num_classes: int, options: dict, weights: Path | None = None) -> SlicedBackbone:
    # features.18 (1x1 conv to 1280 channels) is dropped, as DeepLab's MobileNetV2 does: 320 channels out.
    return _build(tv_mobilenet_v2(weights=None), 18,
                  ["features.3", "features.6", "features.10", "features.13", "features.16"],
                  low_tap="features.6", num_classes=num_classes, options=options, weights=weights)


def build_mobilenet_v3_large(num_classes: int, options: dict, weights: Path | None = None) -> SlicedBackbone:
    # The 'low' tap (output stride 8, 40 channels) is features.4, as torchvision's LR-ASPP uses.
    return _build(tv_mobilenet_v3_large(weights=None), 17,
                  ["features.3", "features.6", "features.10", "features.12", "features.14"],
                  low_tap="features.4", num_classes=num_classes, options=options, weights=weights)

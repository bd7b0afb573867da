"""ResNet-18/50/101 adapters (optionally dilated to output stride 16 or 8)."""

from __future__ import annotations

from pathlib import Path

from torch import nn
from torchvision.models import resnet as tv_resnet

from core.models.backbones.base import Block, SlicedBackbone, slice_blocks
from core.models.backbones.final_heads import FINAL_HEADS
from core.models.pretrained import load_pretrained


def dilate_stage(stage: nn.Sequential, dilation: int) -> None:
    """Turn a strided ResNet stage into a dilated one (works for Basic and Bottleneck blocks)."""
    for block in stage:
        for conv in block.modules():
            if isinstance(conv, nn.Conv2d):
                if conv.stride == (2, 2):
                    conv.stride = (1, 1)
                if conv.kernel_size == (3, 3):
                    conv.dilation = (dilation, dilation)
                    conv.padding = (dilation, dilation)


def resnet_blocks(net: tv_resnet.ResNet, output_stride: int) -> list[Block]:
    """Stem + every residual block, with channels and output stride of each."""
    dilated = {32: 0, 16: 1, 8: 2}[output_stride]
    stages = [net.layer1, net.layer2, net.layer3, net.layer4]
    dilation = 1
    for stage in stages[4 - dilated:]:
        dilation *= 2
        dilate_stage(stage, dilation)
    blocks = [Block("stem", nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool), 64, stride=4)]
    stride = 4
    for s, stage in enumerate(stages, start=1):
        if s > 1 and s <= 4 - dilated:
            stride *= 2
        for j, block in enumerate(stage):
            channels = block.conv3.out_channels if hasattr(block, "conv3") else block.conv2.out_channels
            name = f"layer{s}" if j == len(stage) - 1 else f"layer{s}.{j}"
            blocks.append(Block(name, block, channels, stride=stride))
    return blocks


def resnet_exit_points(depths: tuple[int, int, int, int]) -> list[str]:
    """Stage ends of layer1..3, the middle of stages with 4+ blocks, and layer4's first block."""
    names: list[str] = []
    for s, depth in enumerate(depths[:3], start=1):
        if depth >= 4:
            names.append(f"layer{s}.{depth // 2 - 1}")
        names.append(f"layer{s}")
    names.append("layer4.0" if depths[3] > 1 else "layer3")
    return list(dict.fromkeys(names))


def make_resnet_builder(factory, depths: tuple[int, int, int, int]):
    def build(num_classes: int, options: dict, weights: Path | None = None) -> SlicedBackbone:
        net = factory(weights=None)
        if weights is not None:
            load_pretrained(net, weights)
        blocks = resnet_blocks(net, options["output_stride"])
        head = FINAL_HEADS.get(options["final_head"])(blocks[-1], {}, num_classes)
        return slice_blocks(blocks, resnet_exit_points(depths), {}, final_head=head)

    return build


RESNETS = {
    "resnet18": (tv_resnet.resnet18, (2, 2, 2, 2)),
    "resnet50": (tv_resnet.resnet50, (3, 4, 6, 3)),
    "resnet101": (tv_resnet.resnet101, (3, 4, 23, 3)),
}

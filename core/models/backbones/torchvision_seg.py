"""Conversion of torchvision's segmentation models into MESS backbones.

The model's own final head (DeepLabV3 ASPP, FCN or LR-ASPP) is kept as the
final exit; its auxiliary classifier is dropped. Weights may be a torchvision
segmentation state dict saved as safetensors (keys 'backbone.*',
'classifier.*'; 'aux_classifier.*' is ignored), so the converted network's
final exit gives the same output as the original model.
"""

from __future__ import annotations

from pathlib import Path

from torch import nn
from torchvision.models import segmentation as tv_seg

from core.models.backbones.base import Block, SlicedBackbone, slice_blocks
from core.models.backbones.final_heads import LRASPPFinalHead, SingleInputHead
from core.models.backbones.mobilenet import feature_blocks
from core.models.backbones.resnet import resnet_exit_points
from core.models.pretrained import load_pretrained


def _load(model: nn.Module, weights: Path | None) -> None:
    if weights is not None:
        load_pretrained(model, weights)


def _resnet50_model(model: nn.Module) -> list[Block]:
    # torchvision builds it with replace_stride_with_dilation=[False, True, True]: output stride 8,
    # already dilated, so the blocks are read as they are.
    body = model.backbone
    blocks = [Block("stem", nn.Sequential(body.conv1, body.bn1, body.relu, body.maxpool), 64, stride=4)]
    for s in range(1, 5):
        stage = getattr(body, f"layer{s}")
        stride = 8 if s >= 2 else 4
        for j, block in enumerate(stage):
            name = f"layer{s}" if j == len(stage) - 1 else f"layer{s}.{j}"
            blocks.append(Block(name, block, block.conv3.out_channels, stride=stride))
    return blocks


def build_deeplabv3_resnet50(num_classes: int, options: dict, weights: Path | None = None) -> SlicedBackbone:
    model = tv_seg.deeplabv3_resnet50(weights=None, weights_backbone=None, num_classes=num_classes, aux_loss=False)
    _load(model, weights)
    return slice_blocks(_resnet50_model(model), resnet_exit_points((3, 4, 6, 3)), {},
                        final_head=SingleInputHead(model.classifier))


def build_fcn_resnet50(num_classes: int, options: dict, weights: Path | None = None) -> SlicedBackbone:
    model = tv_seg.fcn_resnet50(weights=None, weights_backbone=None, num_classes=num_classes, aux_loss=False)
    _load(model, weights)
    return slice_blocks(_resnet50_model(model), resnet_exit_points((3, 4, 6, 3)), {},
                        final_head=SingleInputHead(model.classifier))


MOBILENET_V3_EXITS = ["features.3", "features.6", "features.10", "features.12", "features.14"]


def build_deeplabv3_mobilenet_v3_large(num_classes: int, options: dict, weights: Path | None = None) -> SlicedBackbone:
    model = tv_seg.deeplabv3_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=num_classes,
                                                aux_loss=False)
    _load(model, weights)
    blocks = feature_blocks([model.backbone[str(i)] for i in range(17)])
    return slice_blocks(blocks, MOBILENET_V3_EXITS, {}, final_head=SingleInputHead(model.classifier))


def build_lraspp_mobilenet_v3_large(num_classes: int, options: dict, weights: Path | None = None) -> SlicedBackbone:
    model = tv_seg.lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=num_classes)
    _load(model, weights)
    blocks = feature_blocks([model.backbone[str(i)] for i in range(17)])
    return slice_blocks(blocks, MOBILENET_V3_EXITS, {"low": "features.4"}, final_head=LRASPPFinalHead(model.classifier))

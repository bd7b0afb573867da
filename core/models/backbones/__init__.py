"""The backbone registry: every CNN that can become a MESS network."""

from __future__ import annotations

from core.models.backbones.base import BackboneAdapter, Block, ExitPoint, SlicedBackbone, slice_blocks
from core.models.backbones.mobilenet import build_mobilenet_v2, build_mobilenet_v3_large
from core.models.backbones.resnet import RESNETS, make_resnet_builder
from core.models.backbones.torchvision_seg import (
    build_deeplabv3_mobilenet_v3_large,
    build_deeplabv3_resnet50,
    build_fcn_resnet50,
    build_lraspp_mobilenet_v3_large,
)
from core.registry import Registry

BACKBONES: Registry[BackboneAdapter] = Registry("backbone")

_PLAIN_HEADS = ("deeplabv3", "fcn")
BACKBONES.add("resnet18", BackboneAdapter("resnet18", "ResNet-18 (torchvision), output stride 32, 16 or 8",
                                          make_resnet_builder(*RESNETS["resnet18"]), output_strides=(32, 16, 8),
                                          final_heads=_PLAIN_HEADS))
BACKBONES.add("resnet50", BackboneAdapter(
    "resnet50", "ResNet-50, dilated to output stride 8 (DRN style, as in the paper), 16 or 32",
    make_resnet_builder(*RESNETS["resnet50"]), output_strides=(8, 16, 32), final_heads=_PLAIN_HEADS))
BACKBONES.add("resnet101", BackboneAdapter("resnet101", "ResNet-101, dilated to output stride 8, 16 or 32",
                                           make_resnet_builder(*RESNETS["resnet101"]), output_strides=(8, 16, 32),
                                           final_heads=_PLAIN_HEADS))
BACKBONES.add("mobilenet_v2", BackboneAdapter(
    "mobilenet_v2", "MobileNetV2 (320-channel output), output stride 16, 8 or 32",
    build_mobilenet_v2, output_strides=(16, 8, 32), final_heads=_PLAIN_HEADS + ("lraspp",)))
BACKBONES.add("mobilenet_v3_large", BackboneAdapter(
    "mobilenet_v3_large", "MobileNetV3-Large (960-channel output), output stride 16 or 32",
    build_mobilenet_v3_large, output_strides=(16, 32), final_heads=("lraspp",) + _PLAIN_HEADS))
BACKBONES.add("deeplabv3_resnet50", BackboneAdapter(
    "deeplabv3_resnet50", "torchvision DeepLabV3 ResNet-50 (its ASPP head is the final exit)",
    build_deeplabv3_resnet50, output_strides=(8,), final_heads=("native",)))
BACKBONES.add("fcn_resnet50", BackboneAdapter(
    "fcn_resnet50", "torchvision FCN ResNet-50 (its FCN head is the final exit)",
    build_fcn_resnet50, output_strides=(8,), final_heads=("native",)))
BACKBONES.add("deeplabv3_mobilenet_v3_large", BackboneAdapter(
    "deeplabv3_mobilenet_v3_large", "torchvision DeepLabV3 MobileNetV3-Large (its ASPP head is the final exit)",
    build_deeplabv3_mobilenet_v3_large, output_strides=(16,), final_heads=("native",)))
BACKBONES.add("lraspp_mobilenet_v3_large", BackboneAdapter(
    "lraspp_mobilenet_v3_large", "torchvision LR-ASPP MobileNetV3-Large (its LR-ASPP head is the final exit)",
    build_lraspp_mobilenet_v3_large, output_strides=(16,), final_heads=("native",)))

__all__ = ["BACKBONES", "BackboneAdapter", "Block", "ExitPoint", "SlicedBackbone", "slice_blocks"]

"""Turning a registered backbone into a MESS network, in one call."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch

from core.data.classes import ClassSet
from core.models.backbones import BACKBONES
from core.models.heads import HeadConfig
from core.models.network import MultiExitNet
from core.models.spec import ExitHeadSpec, ModelSpec


def convert_backbone(
    backbone: str,
    classes: ClassSet,
    heads: Sequence[HeadConfig] = (),
    points: Sequence[str] | None = None,
    options: dict | None = None,
    weights: str | Path | None = None,
    input_size: tuple[int, int] | None = None,
    seed: int = 0,
) -> MultiExitNet:
    """Build ``backbone`` as a MultiExitNet with ``heads`` at every candidate point (or at ``points``).

    ``weights`` is a local safetensors file with torchvision-named tensors (an ImageNet
    classifier for a plain backbone, a segmentation model for a torchvision conversion);
    without it the network is randomly initialised with ``seed``.
    """
    spec = ModelSpec(
        backbone=backbone,
        classes=classes,
        backbone_options=BACKBONES.get(backbone).resolve_options(dict(options or {})),
        input_size=input_size,
    )
    torch.manual_seed(seed)
    net = MultiExitNet(spec, pretrained=str(weights) if weights else None)
    chosen = list(net.exit_points) if points is None else list(points)
    net.add_heads(ExitHeadSpec(point, head) for point in chosen for head in heads)
    return net

"""Shared tiny-model fixtures for the model tests (MobileNetV3-Large at 64x96, two heads)."""

from __future__ import annotations

import pytest
import torch

from core.data.classes import CLASS_SETS
from core.models import HeadConfig, MultiExitNet, convert_backbone

SIZE = (64, 96)
TINY_HEADS = (HeadConfig("fcn", "64", 0), HeadConfig("dlb", "half", 1, rdi=True))
TINY_POINTS = ("features.3", "features.10")


def randomize_state(net: torch.nn.Module, seed: int = 7) -> torch.nn.Module:
    """Give every BatchNorm random running statistics and affine values, so a round trip
    that dropped buffers (or parameters) would change the outputs."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                n = module.num_features
                module.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
                module.running_var.copy_(torch.rand(n, generator=gen) * 0.5 + 0.75)
                module.weight.copy_(torch.rand(n, generator=gen) * 0.5 + 0.75)
                module.bias.copy_(torch.randn(n, generator=gen) * 0.1)
    return net


def make_tiny_net(backbone: str = "mobilenet_v3_large", heads=TINY_HEADS, points=TINY_POINTS,
                  classes: str = "camvid", seed: int = 0) -> MultiExitNet:
    net = convert_backbone(backbone, CLASS_SETS.get(classes), list(heads),
                           list(points) if points is not None else None, input_size=SIZE, seed=seed)
    return randomize_state(net).eval()


def image(seed: int = 0, size: tuple[int, int] = SIZE, batch: int = 1) -> torch.Tensor:
    return torch.randn(batch, 3, *size, generator=torch.Generator().manual_seed(seed))


@pytest.fixture(scope="session")
def camvid():
    return CLASS_SETS.get("camvid")


@pytest.fixture
def tiny_net() -> MultiExitNet:
    """MobileNetV3-Large with an fcn and a dlb head at features.3 and features.10 (4 early exits)."""
    return make_tiny_net()


@pytest.fixture
def tiny_input() -> torch.Tensor:
    return image()

"""The inspection tests' model: three exit points, two heads each, at a small input size."""

from __future__ import annotations

import pytest
import torch

from core.data.classes import CLASS_SETS
from core.models import HeadConfig, convert_backbone, save_model

SIZE = (64, 96)


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    net = convert_backbone("mobilenet_v3_large", CLASS_SETS.get("camvid"),
                           [HeadConfig("fcn", "64", 0), HeadConfig("fcn", "128", 2, True)],
                           points=["features.3", "features.6", "features.12"], input_size=SIZE)
    return net.eval()


@pytest.fixture(scope="module")
def model_dir(net, tmp_path_factory):
    folder = tmp_path_factory.mktemp("inspect") / "model"
    save_model(net, folder)
    return folder

"""The live player's test fixtures: a tiny model and a five-frame clip, on one thread."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from core.data.classes import CLASS_SETS
from core.models import HeadConfig, convert_backbone
from tests.data.builders import flat_frames, write_video
from tests.train.conftest import one_thread

SIZE = (48, 64)


@pytest.fixture
def single_thread():
    """Torch on one thread (the player tests' own timing stays predictable on a busy machine)."""
    with one_thread():
        yield


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return convert_backbone("mobilenet_v3_large", CLASS_SETS.get("camvid"), [HeadConfig("fcn", "64", 0)],
                            points=["features.6"], input_size=SIZE).eval()


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return write_video(tmp_path_factory.mktemp("player") / "clip.mp4", flat_frames(5, SIZE, start=30, step=40))

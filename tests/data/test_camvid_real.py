"""Smoke test on the real CamVid copy in ../shared/data (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from core.data import CLASS_SETS, IMAGENET_MEAN, IMAGENET_STD, SegmentationDataset, eval_transform, open_dataset

pytestmark = pytest.mark.shared_data


def test_camvid_val_split(camvid_root: Path) -> None:
    ds = open_dataset(camvid_root, "val", transform=eval_transform(IMAGENET_MEAN, IMAGENET_STD))
    assert ds.layout == "camvid"
    assert len(ds) == 101
    assert ds.classes == CLASS_SETS.get("camvid")
    item = ds[0]
    assert item["image"].shape == (3, 360, 480) and item["image"].dtype == torch.float32
    assert item["mask"].shape == (360, 480) and item["mask"].dtype == torch.int64
    assert 0 <= int(item["mask"].min()) and int(item["mask"].max()) <= 11
    assert len(item["mask"].unique()) > 3
    head = SegmentationDataset(ds.samples[:5], ds.classes, label_map=ds.label_map)
    seen: list[int] = []
    head.validate(lambda done, total: seen.append(done))
    assert seen == [1, 2, 3, 4, 5]

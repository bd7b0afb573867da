"""SegmentationDataset items, reproducible randomness, unlabelled folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from core.data import (
    CLASS_SETS,
    IMAGENET_MEAN,
    IMAGENET_STD,
    Sample,
    SegmentationDataset,
    eval_transform,
    open_dataset,
    open_unlabelled,
    train_transform,
)
from core.errors import DataError
from tests.data.builders import H, W, rgb_image, write_camvid, write_rgb


def _train(tmp_path: Path, seed: int) -> SegmentationDataset:
    tf = train_transform((16, 20), IMAGENET_MEAN, IMAGENET_STD, ignore_index=11)
    return open_dataset(tmp_path, "val", transform=tf, seed=seed)


def _same(a: dict, b: dict) -> bool:
    return torch.equal(a["image"], b["image"]) and torch.equal(a["mask"], b["mask"])


def test_same_seed_replays_the_same_items(tmp_path: Path) -> None:
    write_camvid(tmp_path, "val", n=3)
    a, b = _train(tmp_path, seed=5), _train(tmp_path, seed=5)
    later_first = b[2]  # order of access does not matter: the RNG depends on (seed, epoch, index)
    assert _same(a[2], later_first)
    assert all(_same(a[i], b[i]) for i in range(3))
    item = a[0]
    assert item["image"].shape == (3, 16, 20) and item["mask"].shape == (16, 20)


def test_seed_and_epoch_change_the_augmentation(tmp_path: Path) -> None:
    write_camvid(tmp_path, "val", n=3)
    a, b = _train(tmp_path, seed=5), _train(tmp_path, seed=6)
    assert not _same(a[0], b[0])
    first = a[0]
    a.set_epoch(1)
    second = a[0]
    assert not _same(first, second)
    a.set_epoch(0)
    assert _same(first, a[0])


def test_data_loader_batches(tmp_path: Path) -> None:
    write_camvid(tmp_path, "val", n=3)
    loader = DataLoader(_train(tmp_path, seed=0), batch_size=2, shuffle=False, num_workers=0)
    batch = next(iter(loader))
    assert batch["image"].shape == (2, 3, 16, 20) and batch["image"].dtype == torch.float32
    assert batch["mask"].shape == (2, 16, 20) and batch["mask"].dtype == torch.int64
    assert len(batch["path"]) == 2
    assert batch["mask"].min() >= 0 and batch["mask"].max() <= 11


def test_eval_transform_keeps_full_size_and_labels(tmp_path: Path) -> None:
    written = write_camvid(tmp_path, "val", n=1)
    ds = open_dataset(tmp_path, "val", transform=eval_transform(IMAGENET_MEAN, IMAGENET_STD))
    item = ds[0]
    _, mask = written[Path(item["path"]).name]
    assert item["image"].shape == (3, H, W)
    np.testing.assert_array_equal(item["mask"].numpy(), mask)
    with pytest.raises(IndexError):
        ds[1]


def test_open_unlabelled_folder_and_file(tmp_path: Path) -> None:
    write_rgb(tmp_path / "b.png", rgb_image(1))
    write_rgb(tmp_path / "a.jpg", rgb_image(2))
    (tmp_path / "notes.txt").write_text("not an image")
    ds = open_unlabelled(tmp_path, transform=eval_transform(IMAGENET_MEAN, IMAGENET_STD))
    assert [Path(s.image).name for s in ds.samples] == ["a.jpg", "b.png"]
    assert all(s.mask is None for s in ds.samples)
    item = ds[1]
    assert "mask" not in item and item["image"].shape == (3, H, W)
    ds.validate()
    single = open_unlabelled(tmp_path / "b.png")
    assert len(single) == 1 and single[0]["image"].max() <= 1.0


def test_open_unlabelled_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="nothing: file or folder is missing"):
        open_unlabelled(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="empty: folder has no images"):
        open_unlabelled(tmp_path / "empty")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="notes.txt: not an image file"):
        open_unlabelled(tmp_path / "notes.txt")


def test_constructor_checks(tmp_path: Path) -> None:
    samples = [Sample(tmp_path / "a.png", tmp_path / "a_mask.png")]
    with pytest.raises(DataError, match="has label masks but no class set"):
        SegmentationDataset(samples, None, name="x")
    with pytest.raises(DataError, match="label map: expected 256"):
        SegmentationDataset(samples, CLASS_SETS.get("camvid"), label_map=np.arange(10))

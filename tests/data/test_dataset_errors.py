"""Every bad input is a one-line DataError naming the file (or folder) at fault."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np
import pytest

from core.data import open_dataset
from core.errors import DataError
from tests.data.builders import (
    H,
    W,
    label_mask,
    rgb_image,
    write_camvid,
    write_cityscapes,
    write_folders,
    write_grey,
    write_rgb,
    write_voc,
)

NAME = "0001TP_000001.png"


@contextmanager
def raises_naming(path: Path | str, *needles: str) -> Iterator[pytest.ExceptionInfo[DataError]]:
    """pytest.raises(DataError), and the message is one line naming ``path`` and containing ``needles``."""
    with pytest.raises(DataError) as info:
        yield info
    msg = str(info.value)
    assert "\n" not in msg, msg
    assert str(path) in msg, f"{path} not named in: {msg}"
    for needle in needles:
        assert needle in msg, f"{needle!r} not in: {msg}"


def test_camvid_image_without_mask(tmp_path: Path) -> None:
    write_camvid(tmp_path, "val", n=2)
    (tmp_path / "valannot" / NAME).unlink()
    with raises_naming(tmp_path / "val" / NAME, "has no mask"):
        open_dataset(tmp_path, "val")


def test_folders_image_without_mask(tmp_path: Path) -> None:
    write_folders(tmp_path, n=2)
    (tmp_path / "masks" / "img00.png").unlink()
    with raises_naming(tmp_path / "images" / "img00.png", "has no mask"):
        open_dataset(tmp_path)


def test_folders_two_images_with_one_stem(tmp_path: Path) -> None:
    write_folders(tmp_path, n=2)
    write_rgb(tmp_path / "images" / "img00.jpg", rgb_image(0))
    with raises_naming(tmp_path / "images", "same stem"):
        open_dataset(tmp_path)


def test_cityscapes_image_without_mask(tmp_path: Path) -> None:
    write_cityscapes(tmp_path, "val")
    (tmp_path / "gtFine" / "val" / "bonn" / "bonn_000000_000001_gtFine_labelIds.png").unlink()
    with raises_naming(tmp_path / "leftImg8bit" / "val" / "bonn" / "bonn_000000_000001_leftImg8bit.png", "has no mask"):
        open_dataset(tmp_path, "val")


def test_voc_image_without_mask_and_missing_split_list(tmp_path: Path) -> None:
    write_voc(tmp_path, "train")
    with raises_naming(tmp_path / "ImageSets" / "Segmentation" / "val.txt", "split list is missing", "train"):
        open_dataset(tmp_path, "val")
    (tmp_path / "SegmentationClass" / "2007_000039.png").unlink()
    with raises_naming(tmp_path / "JPEGImages" / "2007_000039.jpg", "has no mask"):
        open_dataset(tmp_path, "train")
    (tmp_path / "JPEGImages" / "2007_000039.jpg").unlink()
    with raises_naming(tmp_path / "JPEGImages" / "2007_000039.jpg", "listed in train.txt"):
        open_dataset(tmp_path, "train")


def test_folders_without_classes_json(tmp_path: Path) -> None:
    write_folders(tmp_path, n=1)
    (tmp_path / "classes.json").unlink()
    with raises_naming(tmp_path / "classes.json", "missing"):
        open_dataset(tmp_path)


def test_empty_split(tmp_path: Path) -> None:
    (tmp_path / "val").mkdir()
    (tmp_path / "valannot").mkdir()
    with raises_naming(tmp_path / "val", "no images"):
        open_dataset(tmp_path, "val")


def test_missing_split_folders(tmp_path: Path) -> None:
    write_camvid(tmp_path, "train", n=1)
    with raises_naming(tmp_path / "val", "splits found: train"):
        open_dataset(tmp_path, "val")
    folders = tmp_path / "f"
    write_folders(folders, ("train",), n=1)
    with raises_naming(folders / "test", "splits found: train"):
        open_dataset(folders, "test")


def test_label_value_out_of_range(tmp_path: Path) -> None:
    write_camvid(tmp_path, "val", n=2)
    mask = label_mask(1, 11, ignore=11)
    mask[5, 5] = 17
    write_grey(tmp_path / "valannot" / NAME, mask)
    ds = open_dataset(tmp_path, "val")
    expected = "label value 17 is outside 0..10 and is not the ignore index 11"
    with raises_naming(tmp_path / "valannot" / NAME, expected):
        ds.validate()
    with raises_naming(tmp_path / "valannot" / NAME, expected):
        ds[1]
    ds[0]  # the good sample still loads


def test_image_and_mask_sizes_differ(tmp_path: Path) -> None:
    write_camvid(tmp_path, "val", n=2)
    write_grey(tmp_path / "valannot" / NAME, label_mask(1, 11, h=H, w=W + 2))
    with raises_naming(tmp_path / "valannot" / NAME, f"mask is {W + 2}x{H}", f"is {W}x{H}"):
        open_dataset(tmp_path, "val").validate()


@pytest.mark.parametrize("which", ["val", "valannot"])
def test_unreadable_file(tmp_path: Path, which: str) -> None:
    write_camvid(tmp_path, "val", n=2)
    (tmp_path / which / NAME).write_bytes(b"this is not a png")
    with raises_naming(tmp_path / which / NAME, "cannot be read"):
        open_dataset(tmp_path, "val").validate()


def test_file_removed_after_opening(tmp_path: Path) -> None:
    write_camvid(tmp_path, "val", n=2)
    ds = open_dataset(tmp_path, "val")
    (tmp_path / "val" / NAME).unlink()
    with raises_naming(tmp_path / "val" / NAME, "file is missing"):
        ds[1]


def test_mask_with_three_channels(tmp_path: Path) -> None:
    write_camvid(tmp_path, "val", n=2)
    write_rgb(tmp_path / "valannot" / NAME, np.zeros((H, W, 3), dtype=np.uint8))
    with raises_naming(tmp_path / "valannot" / NAME, "3 channels"):
        open_dataset(tmp_path, "val").validate()


def test_label_id_outside_the_label_map(tmp_path: Path) -> None:
    write_cityscapes(tmp_path, "val")
    mask_path = tmp_path / "gtFine" / "val" / "aachen" / "aachen_000000_000000_gtFine_labelIds.png"
    wide = np.full((H, W), 7, dtype=np.uint16)
    wide[2, 2] = 1000
    assert cv2.imwrite(str(mask_path), wide)
    with raises_naming(mask_path, "label value 1000 has no entry"):
        open_dataset(tmp_path, "val").validate()


def test_validate_stops_at_the_first_bad_sample_and_reports_progress(tmp_path: Path) -> None:
    write_camvid(tmp_path, "val", n=3)
    bad = "0001TP_000002.png"
    write_grey(tmp_path / "valannot" / bad, np.full((H, W), 200, dtype=np.uint8))
    seen: list[tuple[int, int]] = []
    with raises_naming(tmp_path / "valannot" / bad, "label value 200"):
        open_dataset(tmp_path, "val").validate(lambda done, total: seen.append((done, total)))
    assert seen == [(1, 3), (2, 3)]

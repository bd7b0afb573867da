"""Every layout is detected and loaded from a tiny synthetic copy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from core.data import CLASS_SETS, DATASET_LAYOUTS, DatasetLayout, detect_layout, open_dataset
from core.errors import ConfigError, DataError
from tests.data.builders import (
    CITYSCAPES_IDS,
    CITYSCAPES_TRAIN,
    H,
    W,
    write_camvid,
    write_cityscapes,
    write_classes_json,
    write_folders,
    write_voc,
)


def test_registry_holds_the_four_layouts() -> None:
    assert set(DATASET_LAYOUTS.names()) == {"camvid", "folders", "cityscapes", "voc"}
    for name in DATASET_LAYOUTS:
        layout = DATASET_LAYOUTS.get(name)
        assert isinstance(layout, DatasetLayout) and layout.name == name


def test_camvid_layout(tmp_path: Path) -> None:
    written = write_camvid(tmp_path, "val", n=3)
    write_camvid(tmp_path, "train", n=2)
    assert detect_layout(tmp_path).name == "camvid"
    ds = open_dataset(tmp_path, "val")
    assert ds.layout == "camvid" and len(ds) == 3
    assert ds.classes == CLASS_SETS.get("camvid")
    item = ds[1]
    name = Path(item["path"]).name
    rgb, mask = written[name]
    assert item["image"].shape == (3, H, W) and item["image"].dtype == torch.float32
    # images are read as RGB (not OpenCV's BGR), scaled to [0, 1] without a transform
    np.testing.assert_allclose(item["image"].permute(1, 2, 0).numpy(), rgb / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(item["mask"].numpy(), mask)
    assert len(open_dataset(tmp_path, "train", layout="camvid")) == 2


def test_camvid_classes_json_overrides_the_default(tmp_path: Path) -> None:
    write_camvid(tmp_path, "val", n=1)
    write_classes_json(tmp_path, num_classes=12, ignore=255)
    ds = open_dataset(tmp_path, "val")
    assert ds.classes.num_classes == 12 and ds.classes.ignore_index == 255


@pytest.mark.parametrize("splits", [(), ("train", "val")])
def test_folders_layout(tmp_path: Path, splits: tuple[str, ...]) -> None:
    write_folders(tmp_path, splits, n=2)
    assert detect_layout(tmp_path).name == "folders"
    ds = open_dataset(tmp_path, "val")
    assert ds.layout == "folders" and len(ds) == 2
    assert ds.classes.names == ["class0", "class1", "class2"] and ds.classes.ignore_index == 255
    assert {s.image.suffix for s in ds.samples} == {".png", ".bmp"}
    for s in ds.samples:
        assert s.mask is not None and s.mask.stem == s.image.stem and s.mask.parent.name == "masks"
        if splits:
            assert s.image.parent.parent.name == "val"
    ds.validate()
    assert set(np.unique(ds[0]["mask"].numpy())) <= {0, 1, 2, 255}


def test_cityscapes_layout_maps_label_ids_to_train_ids(tmp_path: Path) -> None:
    written = write_cityscapes(tmp_path, "val")
    assert detect_layout(tmp_path).name == "cityscapes"
    ds = open_dataset(tmp_path, "val")
    assert ds.layout == "cityscapes" and len(ds) == 2
    assert ds.classes == CLASS_SETS.get("cityscapes")
    assert [s.mask.name for s in ds.samples] == [
        "aachen_000000_000000_gtFine_labelIds.png",
        "bonn_000000_000001_gtFine_labelIds.png",
    ]
    table = ds.label_map
    assert table is not None and table.shape == (256,)
    assert (table[7], table[26], table[33], table[0], table[34]) == (0, 13, 18, 255, 255)
    for i in range(len(ds)):
        item = ds[i]
        ids = written[Path(item["path"]).name]
        expected = np.zeros_like(ids)
        for label_id, train_id in zip(CITYSCAPES_IDS, CITYSCAPES_TRAIN):
            expected[ids == label_id] = train_id
        np.testing.assert_array_equal(item["mask"].numpy(), expected)
    ds.validate()


def test_voc_layout_reads_palette_indices(tmp_path: Path) -> None:
    written = write_voc(tmp_path, "train")
    write_voc(tmp_path, "val", stems=("2007_000032",))
    assert detect_layout(tmp_path).name == "voc"
    ds = open_dataset(tmp_path, "train")
    assert ds.layout == "voc" and len(ds) == 2
    assert ds.classes == CLASS_SETS.get("voc")
    for i, stem in enumerate(["2007_000032", "2007_000039"]):
        item = ds[i]
        assert Path(item["path"]).name == f"{stem}.jpg"
        assert item["image"].shape == (3, H, W)
        np.testing.assert_array_equal(item["mask"].numpy(), written[stem])  # indices, not RGB colours
    assert len(open_dataset(tmp_path, "val")) == 1
    ds.validate()


def test_undetectable_folder_lists_known_layouts(tmp_path: Path) -> None:
    (tmp_path / "stuff").mkdir()
    with pytest.raises(DataError) as e:
        open_dataset(tmp_path)
    msg = str(e.value)
    assert str(tmp_path) in msg and all(n in msg for n in ("camvid", "folders", "cityscapes", "voc"))


def test_unknown_layout_name_is_a_config_error(tmp_path: Path) -> None:
    write_camvid(tmp_path, "val", n=1)
    with pytest.raises(ConfigError, match="unknown dataset layout 'kitti'"):
        open_dataset(tmp_path, "val", layout="kitti")


def test_missing_dataset_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="nowhere: dataset folder is missing"):
        open_dataset(tmp_path / "nowhere")
    with pytest.raises(DataError, match="nowhere: dataset folder is missing"):
        open_dataset(tmp_path / "nowhere", layout="camvid")

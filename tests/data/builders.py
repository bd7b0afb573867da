"""Tiny synthetic datasets (32x24 images) written to a temporary folder, one builder per layout."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from core.data.classes import CLASS_SETS

W, H = 32, 24


def rgb_image(seed: int, h: int = H, w: int = W) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def label_mask(seed: int, num_classes: int, ignore: int | None = None, h: int = H, w: int = W) -> np.ndarray:
    mask = np.random.default_rng(1000 + seed).integers(0, num_classes, size=(h, w), dtype=np.uint8)
    if ignore is not None:
        mask[0, :4] = ignore
    return mask


def write_rgb(path: Path, rgb: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


def write_grey(path: Path, mask: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), mask)
    return path


def write_palette_png(path: Path, indices: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.fromarray(indices.astype(np.uint8), mode="P")
    im.putpalette([v for c in CLASS_SETS.get("voc").palette for v in c] + [224, 224, 192] * (256 - 21))
    im.save(path)
    return path


def write_camvid(root: Path, split: str = "val", n: int = 3) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """CamVid layout; returns {file name: (rgb, mask)}."""
    out = {}
    for i in range(n):
        name = f"0001TP_{i:06d}.png"
        rgb, mask = rgb_image(i), label_mask(i, 11, ignore=11)
        write_rgb(root / split / name, rgb)
        write_grey(root / f"{split}annot" / name, mask)
        out[name] = (rgb, mask)
    return out


def write_classes_json(root: Path, num_classes: int = 3, ignore: int = 255) -> Path:
    path = root / "classes.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    names = [f"class{i}" for i in range(num_classes)]
    palette = [[(40 * i) % 256, (255 - 40 * i) % 256, 7 * i] for i in range(num_classes)]
    path.write_text(json.dumps({"names": names, "palette": palette, "ignore_index": ignore}))
    return path


def write_folders(root: Path, splits: tuple[str, ...] = (), n: int = 2) -> None:
    """Folders layout with 3 classes: PNG and BMP images paired with PNG masks by stem."""
    write_classes_json(root)
    bases = [root / s for s in splits] or [root]
    for b, base in enumerate(bases):
        for i in range(n):
            ext = ".png" if i % 2 == 0 else ".bmp"
            write_rgb(base / "images" / f"img{b}{i}{ext}", rgb_image(10 * b + i))
            write_grey(base / "masks" / f"img{b}{i}.png", label_mask(10 * b + i, 3, ignore=255))


CITYSCAPES_IDS = np.array([0, 7, 8, 11, 26, 33, 4, 255], dtype=np.uint8)
CITYSCAPES_TRAIN = np.array([255, 0, 1, 2, 13, 18, 255, 255], dtype=np.uint8)


def cityscapes_label_ids(seed: int) -> np.ndarray:
    """A labelIds mask using a few ids whose train ids are CITYSCAPES_TRAIN (same positions)."""
    pick = np.random.default_rng(seed).integers(0, len(CITYSCAPES_IDS), size=(H, W))
    return CITYSCAPES_IDS[pick]


def write_cityscapes(root: Path, split: str = "val",
                     cities: tuple[str, ...] = ("aachen", "bonn")) -> dict[str, np.ndarray]:
    """Returns {image file name: labelIds mask}."""
    out = {}
    for c, city in enumerate(cities):
        stem = f"{city}_000000_{c:06d}"
        write_rgb(root / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png", rgb_image(c))
        ids = cityscapes_label_ids(c)
        write_grey(root / "gtFine" / split / city / f"{stem}_gtFine_labelIds.png", ids)
        write_grey(root / "gtFine" / split / city / f"{stem}_gtFine_instanceIds.png", ids)
        out[f"{stem}_leftImg8bit.png"] = ids
    return out


def write_voc(root: Path, split: str = "train",
              stems: tuple[str, ...] = ("2007_000032", "2007_000039")) -> dict[str, np.ndarray]:
    """Returns {stem: palette indices}; each mask has classes 0, 15 (person) and the 255 border."""
    out = {}
    for i, stem in enumerate(stems):
        rgb = rgb_image(i)
        path = root / "JPEGImages" / f"{stem}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        idx = np.zeros((H, W), dtype=np.uint8)
        idx[4:20, 8:24] = 15
        idx[3, :] = 255
        idx[0, 0] = i + 1
        write_palette_png(root / "SegmentationClass" / f"{stem}.png", idx)
        out[stem] = idx
    split_file = root / "ImageSets" / "Segmentation" / f"{split}.txt"
    split_file.parent.mkdir(parents=True, exist_ok=True)
    split_file.write_text("".join(f"{s}\n" for s in stems))
    return out

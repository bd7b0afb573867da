"""Synthetic test data written to a temporary folder: datasets (one builder per layout, 32x24 images unless
told), image folders and short videos. Images handed to the writers here are BGR, as cv2 writes them,
except where a name says RGB (rgb_image, write_rgb)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from core.data.classes import CLASS_SETS

W, H = 32, 24
Size = tuple[int, int]                          # (height, width)
Names = str | Sequence[str]                     # a format of the index i ("{i:03d}.png"), or the names in order

SKY_BGR, ROAD_BGR, BOX_BGR = (200, 170, 150), (90, 90, 90), (40, 40, 200)


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


def file_names(names: Names, n: int) -> list[str]:
    """``n`` file names: ``names`` formatted with i = 0..n-1, or the first ``n`` of a list of names."""
    if isinstance(names, str):
        return [names.format(i=i) for i in range(n)]
    assert len(names) >= n, f"{n} names wanted, {len(names)} given"
    return list(names[:n])


def noise_bgr(rng: np.random.Generator, size: Size, high: int = 256) -> np.ndarray:
    """Uniform noise in 0..high-1, ``size`` (height, width) by 3 channels."""
    return rng.integers(0, high, (*size, 3), dtype=np.uint8)


def horizon_label(size: Size, sky_rows: int, *, sky: int = 0, road: int = 3) -> np.ndarray:
    """A label mask of road with ``sky_rows`` rows of sky at the top (CamVid: 0 = sky, 3 = road)."""
    label = np.full(size, road, np.uint8)
    label[:sky_rows] = sky
    return label


def write_camvid_pairs(root: Path, samples: Iterable[tuple[str, np.ndarray, np.ndarray]],
                       split: str = "val") -> Path:
    """CamVid layout: each (file name, BGR image, label mask) as ``split``/name and ``split``annot/name.

    Both folders are made even for no samples (an empty split)."""
    for folder in (split, f"{split}annot"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for name, image, mask in samples:
        assert cv2.imwrite(str(root / split / name), image), root / split / name
        assert cv2.imwrite(str(root / f"{split}annot" / name), mask), root / f"{split}annot" / name
    return root


def write_camvid(root: Path, split: str = "val", n: int = 3, *, size: Size = (H, W), sequence: str = "0001TP",
                 seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """CamVid layout, frames ``sequence``_000000.png on: noise images (rgb_image(seed + i)) and random masks of
    11 classes with a few void (11) pixels; returns {file name: (RGB image, mask)}."""
    h, w = size
    out = {f"{sequence}_{i:06d}.png": (rgb_image(seed + i, h, w), label_mask(seed + i, 11, ignore=11, h=h, w=w))
           for i in range(n)}
    write_camvid_pairs(root, ((name, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), mask) for name, (rgb, mask) in out.items()),
                       split)
    return out


def write_horizon_camvid(root: Path, n: int, *, size: Size, names: Names = "{i:03d}.png",
                         horizon: tuple[int, int] = (8, 4), seed: int = 0) -> Path:
    """val/ + valannot/: noise images (0..254) over labels of road under sky; the sky of image i is
    ``start + step * i`` rows for ``horizon`` = (start, step), so each image's sky differs."""
    rng = np.random.default_rng(seed)
    start, step = horizon
    return write_camvid_pairs(root, ((name, noise_bgr(rng, size, high=255), horizon_label(size, start + step * i))
                                     for i, name in enumerate(file_names(names, n))))


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


# --- image folders and videos ------------------------------------------------------------------

def write_image_folder(folder: Path, images: Iterable[np.ndarray], *, names: Names = "frame_{i:03d}.png") -> Path:
    """Each BGR image in ``folder`` under its name (names formatted with the image's index, or listed)."""
    folder.mkdir(parents=True, exist_ok=True)
    images = list(images)
    for name, image in zip(file_names(names, len(images)), images):
        assert cv2.imwrite(str(folder / name), image), folder / name
    return folder


def noise_frames(n: int, size: Size, *, seed: int = 0, high: int = 256) -> Iterator[np.ndarray]:
    """``n`` frames of uniform noise in 0..high-1, from one generator seeded ``seed``."""
    rng = np.random.default_rng(seed)
    for _ in range(n):
        yield noise_bgr(rng, size, high)


def flat_frames(n: int, size: Size, *, start: int = 0, step: int = 40) -> Iterator[np.ndarray]:
    """``n`` flat grey frames, frame i of value ``start + step * i`` in every channel (a frame number to read)."""
    for i in range(n):
        yield np.full((*size, 3), start + step * i, np.uint8)


def street_image(size: Size, *, box_x: int, rng: np.random.Generator, box: tuple[int, int, int] = (30, 10, 15),
                 noise: float = 12.0) -> np.ndarray:
    """BGR: sky over road with Gaussian noise, then a solid red box at ``box_x`` of ``box`` = (width, rows
    above the horizon, rows below it)."""
    h, w = size
    image = np.empty((h, w, 3), np.uint8)
    image[: h // 2], image[h // 2:] = SKY_BGR, ROAD_BGR
    image = np.clip(image + rng.normal(0, noise, image.shape), 0, 255).astype(np.uint8)
    width, above, below = box
    cv2.rectangle(image, (box_x, h // 2 - above), (box_x + width, h // 2 + below), BOX_BGR, -1)
    return image


def street_frames(n: int, size: Size, *, seed: int, x0: int = 10, dx: int = 12,
                  box: tuple[int, int, int] = (30, 10, 15)) -> Iterator[np.ndarray]:
    """``n`` street images whose box moves ``dx`` pixels a frame from ``x0`` (wrapping at the right edge)."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        yield street_image(size, box_x=(x0 + dx * i) % (size[1] - box[0]), rng=rng, box=box)


def write_video(path: Path, frames: Iterable[np.ndarray], *, fps: float = 10.0, codec: str = "mp4v") -> Path:
    """A video of the BGR ``frames`` (all one size) at ``fps``; checked to read back."""
    frames = iter(frames)
    first = next(frames)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps, (first.shape[1], first.shape[0]))
    assert writer.isOpened(), f"cv2.VideoWriter cannot write {codec} here"
    written = 0
    for frame in itertools.chain([first], frames):
        writer.write(frame)
        written += 1
    writer.release()
    capture = cv2.VideoCapture(str(path))
    read = sum(1 for _ in range(min(2, written)) if capture.read()[0])
    capture.release()
    assert read == min(2, written), f"{path}: the written video reads back {read} frames"
    return path


def write_tiny_model(folder: Path, size: tuple[int, int], *, seed: int = 0) -> Path:
    """A tiny MobileNetV3-Large model folder (fcn-c64-b0 heads at features.6 and features.12, random weights
    seeded ``seed``) for an input of ``size`` (H, W)."""
    import torch

    from core.models import HeadConfig, convert_backbone, save_model

    torch.manual_seed(seed)
    net = convert_backbone("mobilenet_v3_large", CLASS_SETS.get("camvid"), [HeadConfig("fcn", "64", 0)],
                           points=["features.6", "features.12"], input_size=size)
    save_model(net, folder)
    return folder

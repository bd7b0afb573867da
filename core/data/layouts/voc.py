"""PASCAL VOC: ``JPEGImages/*.jpg``, palette PNGs in ``SegmentationClass/``, split lists in
``ImageSets/Segmentation``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.data.classes import CLASS_SETS, ClassSet
from core.data.layouts.base import DATASET_LAYOUTS, missing_mask, require_samples
from core.data.sample import Sample
from core.errors import DataError

IMAGE_DIR, MASK_DIR, SPLIT_DIR = "JPEGImages", "SegmentationClass", Path("ImageSets") / "Segmentation"


class VocLayout:
    name = "voc"
    label_map: np.ndarray | None = None  # palette indices are the class ids; 255 is the border (ignored)

    def detect(self, root: Path) -> bool:
        return (root / IMAGE_DIR).is_dir() and (root / MASK_DIR).is_dir()

    def samples(self, root: Path, split: str) -> list[Sample]:
        split_file = root / SPLIT_DIR / f"{split}.txt"
        if not split_file.is_file():
            found = sorted(p.stem for p in (root / SPLIT_DIR).glob("*.txt")) if (root / SPLIT_DIR).is_dir() else []
            raise DataError(f"{split_file}: split list is missing (splits found: {', '.join(found) or 'none'})")
        try:
            stems = [line.split()[0] for line in split_file.read_text(encoding="utf-8").splitlines() if line.strip()]
        except (OSError, UnicodeDecodeError) as e:
            raise DataError(f"{split_file}: cannot be read ({e})") from None
        samples = []
        for stem in stems:
            image, mask = root / IMAGE_DIR / f"{stem}.jpg", root / MASK_DIR / f"{stem}.png"
            if not image.is_file():
                raise DataError(f"{image}: image listed in {split_file.name} is missing")
            if not mask.is_file():
                raise missing_mask(image, mask)
            samples.append(Sample(image, mask))
        return require_samples(samples, split_file, split)

    def classes(self, root: Path) -> ClassSet:
        return CLASS_SETS.get("voc")


DATASET_LAYOUTS.add(VocLayout.name, VocLayout())

"""Cityscapes: ``leftImg8bit/<split>/<city>/`` images, ``gtFine/<split>/<city>/`` labelIds masks."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.data.classes import CLASS_SETS, ClassSet
from core.data.layouts.base import DATASET_LAYOUTS, missing_mask, require_dir, require_samples
from core.data.sample import Sample

IMAGE_DIR, MASK_DIR = "leftImg8bit", "gtFine"
IMAGE_SUFFIX, MASK_SUFFIX = "_leftImg8bit.png", "_gtFine_labelIds.png"

# labelId -> trainId for the 19 evaluated classes (cityscapesScripts labels.py); all else is ignored.
LABEL_TO_TRAIN_ID: dict[int, int] = {
    7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9,
    23: 10, 24: 11, 25: 12, 26: 13, 27: 14, 28: 15, 31: 16, 32: 17, 33: 18,
}
IGNORE_ID = 255


def _label_map() -> np.ndarray:
    table = np.full(256, IGNORE_ID, dtype=np.uint8)
    for label_id, train_id in LABEL_TO_TRAIN_ID.items():
        table[label_id] = train_id
    return table


class CityscapesLayout:
    name = "cityscapes"
    label_map: np.ndarray | None = _label_map()

    def detect(self, root: Path) -> bool:
        return (root / IMAGE_DIR).is_dir() and (root / MASK_DIR).is_dir()

    def samples(self, root: Path, split: str) -> list[Sample]:
        image_split = require_dir(root / IMAGE_DIR / split, f"split '{split}'")
        mask_split = require_dir(root / MASK_DIR / split, f"split '{split}' label")
        samples = []
        for image in sorted(image_split.glob(f"*/*{IMAGE_SUFFIX}")):
            stem = image.name[: -len(IMAGE_SUFFIX)]
            mask = mask_split / image.parent.name / f"{stem}{MASK_SUFFIX}"
            if not mask.is_file():
                raise missing_mask(image, mask)
            samples.append(Sample(image, mask))
        return require_samples(samples, image_split, split)

    def classes(self, root: Path) -> ClassSet:
        return CLASS_SETS.get("cityscapes")


DATASET_LAYOUTS.add(CityscapesLayout.name, CityscapesLayout())

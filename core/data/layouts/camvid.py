"""CamVid (SegNet form): ``<split>/`` images and ``<split>annot/`` masks with the same file names."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.data.classes import ClassSet
from core.data.io import list_images
from core.data.layouts.base import DATASET_LAYOUTS, classes_json_or, missing_mask, require_samples
from core.data.sample import Sample
from core.errors import DataError

ANNOT_SUFFIX = "annot"


class CamVidLayout:
    name = "camvid"
    label_map: np.ndarray | None = None

    def detect(self, root: Path) -> bool:
        return bool(self._splits(root))

    def samples(self, root: Path, split: str) -> list[Sample]:
        image_dir, mask_dir = root / split, root / f"{split}{ANNOT_SUFFIX}"
        if not image_dir.is_dir() or not mask_dir.is_dir():
            missing = image_dir if not image_dir.is_dir() else mask_dir
            found = ", ".join(self._splits(root)) or "none"
            raise DataError(f"{missing}: folder is missing for split '{split}' (splits found: {found})")
        samples = [Sample(image, self._mask_for(image, mask_dir)) for image in list_images(image_dir)]
        return require_samples(samples, image_dir, split)

    def classes(self, root: Path) -> ClassSet:
        return classes_json_or(root, "camvid")

    @staticmethod
    def _mask_for(image: Path, mask_dir: Path) -> Path:
        same_name = mask_dir / image.name
        if same_name.is_file():
            return same_name
        png = mask_dir / f"{image.stem}.png"
        if png.is_file():
            return png
        raise missing_mask(image, same_name)

    @staticmethod
    def _splits(root: Path) -> list[str]:
        if not root.is_dir():
            return []
        return sorted(
            d.name
            for d in root.iterdir()
            if d.is_dir() and not d.name.endswith(ANNOT_SUFFIX) and (root / f"{d.name}{ANNOT_SUFFIX}").is_dir()
        )


DATASET_LAYOUTS.add(CamVidLayout.name, CamVidLayout())

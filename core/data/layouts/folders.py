"""Generic folders: ``images/`` + ``masks/`` (optionally under ``<split>/``), paired by file stem."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.data.classes import ClassSet, load_class_set
from core.data.io import list_images
from core.data.layouts.base import CLASSES_JSON, DATASET_LAYOUTS, missing_mask, require_dir, require_samples
from core.data.sample import Sample
from core.errors import DataError

IMAGES, MASKS, MASK_EXT = "images", "masks", ".png"


class FoldersLayout:
    name = "folders"
    label_map: np.ndarray | None = None

    def detect(self, root: Path) -> bool:
        return _has_pair(root) or bool(self._splits(root))

    def samples(self, root: Path, split: str) -> list[Sample]:
        base = self._base(root, split)
        require_dir(base / IMAGES, "images")
        masks = self._masks_by_stem(require_dir(base / MASKS, "masks"))
        samples: list[Sample] = []
        seen: dict[str, Path] = {}
        for image in list_images(base / IMAGES):
            if image.stem in seen:
                raise DataError(f"{image}: another image has the same stem ({seen[image.stem].name})")
            seen[image.stem] = image
            mask = masks.get(image.stem)
            if mask is None:
                raise missing_mask(image, base / MASKS / f"{image.stem}{MASK_EXT}")
            samples.append(Sample(image, mask))
        return require_samples(samples, base / IMAGES, split)

    def classes(self, root: Path) -> ClassSet:
        path = root / CLASSES_JSON
        if not path.is_file():
            raise DataError(f"{path}: file is missing; the folders layout needs it (names, palette, ignore_index)")
        return load_class_set(path)

    def _base(self, root: Path, split: str) -> Path:
        """``root/<split>`` when the dataset has split folders, else ``root`` (one pool for every split)."""
        splits = self._splits(root)
        if not splits:
            return root
        if split not in splits:
            raise DataError(f"{root / split}: split folder is missing (splits found: {', '.join(splits)})")
        return root / split

    @staticmethod
    def _splits(root: Path) -> list[str]:
        if not root.is_dir():
            return []
        return sorted(d.name for d in root.iterdir() if d.is_dir() and _has_pair(d))

    @staticmethod
    def _masks_by_stem(folder: Path) -> dict[str, Path]:
        return {p.stem: p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == MASK_EXT}


def _has_pair(folder: Path) -> bool:
    return (folder / IMAGES).is_dir() and (folder / MASKS).is_dir()


DATASET_LAYOUTS.add(FoldersLayout.name, FoldersLayout())

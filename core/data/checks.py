"""Consistency checks on one loaded sample: label map, label range, image/mask sizes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.data.classes import ClassSet
from core.errors import DataError

LABEL_MAP_SIZE = 256


def check_label_map(label_map: np.ndarray) -> np.ndarray:
    """A label map is a 1-D integer array of 256 entries (raw value -> train id)."""
    label_map = np.asarray(label_map)
    if label_map.shape != (LABEL_MAP_SIZE,) or not np.issubdtype(label_map.dtype, np.integer):
        raise DataError(
            f"label map: expected {LABEL_MAP_SIZE} integer entries, got shape {label_map.shape} of {label_map.dtype}"
        )
    return label_map


def apply_label_map(mask: np.ndarray, label_map: np.ndarray, path: Path) -> np.ndarray:
    """Raw label values -> train ids; a value with no entry in the map is a DataError naming ``path``."""
    if mask.dtype != np.uint8:
        lo, hi = int(mask.min()), int(mask.max())
        if lo < 0 or hi >= LABEL_MAP_SIZE:
            bad = lo if lo < 0 else hi
            raise DataError(f"{path}: label value {bad} has no entry in the {LABEL_MAP_SIZE}-entry label map")
    return label_map[mask]


def check_labels(mask: np.ndarray, classes: ClassSet, path: Path) -> None:
    """Every value is a class index 0..C-1 or the ignore index."""
    c = classes.num_classes
    bad = ~(((mask >= 0) & (mask < c)) | (mask == classes.ignore_index))
    if bad.any():
        values = np.unique(mask[bad])
        more = f" (and {len(values) - 1} other bad values)" if len(values) > 1 else ""
        raise DataError(
            f"{path}: label value {int(values[0])} is outside 0..{c - 1}"
            f" and is not the ignore index {classes.ignore_index}{more}"
        )


def check_same_size(image: np.ndarray, mask: np.ndarray, image_path: Path, mask_path: Path) -> None:
    if image.shape[:2] != mask.shape[:2]:
        ih, iw = image.shape[:2]
        mh, mw = mask.shape[:2]
        raise DataError(f"{mask_path}: mask is {mw}x{mh} but its image {image_path.name} is {iw}x{ih}")

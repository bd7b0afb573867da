"""The dataset-layout protocol, its registry, and helpers the layouts share."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from core.data.classes import CLASS_SETS, ClassSet, load_class_set
from core.data.sample import Sample
from core.errors import DataError
from core.registry import Registry

CLASSES_JSON = "classes.json"


@runtime_checkable
class DatasetLayout(Protocol):
    """How one family of datasets is arranged on disk.

    ``label_map`` (or None) maps raw mask values (256 entries) to train ids.
    """

    name: str
    label_map: np.ndarray | None

    def detect(self, root: Path) -> bool: ...

    def samples(self, root: Path, split: str) -> list[Sample]: ...

    def classes(self, root: Path) -> ClassSet: ...


# Detection tries layouts in registration order (see layouts/__init__.py).
DATASET_LAYOUTS: Registry[DatasetLayout] = Registry("dataset layout")


def classes_json_or(root: Path, default: str) -> ClassSet:
    """root/classes.json when present, else the registered class set ``default``."""
    path = root / CLASSES_JSON
    return load_class_set(path) if path.is_file() else CLASS_SETS.get(default)


def require_dir(folder: Path, what: str) -> Path:
    if not folder.is_dir():
        raise DataError(f"{folder}: {what} folder is missing")
    return folder


def require_samples(samples: list[Sample], folder: Path, split: str) -> list[Sample]:
    if not samples:
        raise DataError(f"{folder}: split '{split}' has no images")
    return samples


def missing_mask(image: Path, mask: Path) -> DataError:
    return DataError(f"{image}: has no mask (expected {mask})")

"""Segmentation datasets: samples on disk -> tensors, with up-front validation and reproducible randomness."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from core.data.checks import apply_label_map, check_label_map, check_labels, check_same_size
from core.data.classes import ClassSet
from core.data.io import IMAGE_EXTS, list_images, read_image, read_mask
from core.data.layouts import DATASET_LAYOUTS, DatasetLayout
from core.data.sample import Sample
from core.data.sequences import select_sequences
from core.data.transforms import ToTensor, Transform
from core.errors import DataError

__all__ = ["Sample", "SegmentationDataset", "detect_layout", "open_dataset", "open_unlabelled"]

_TO_TENSOR = ToTensor()


class SegmentationDataset(Dataset):
    """Items are ``{"image": float32 3xHxW, "mask": int64 HxW (absent when unlabelled), "path": str}``.

    ``transform`` is a joint transform (see core.data.transforms); without one, or when it leaves
    numpy arrays, the item is converted with ``ToTensor`` (image scaled to [0, 1]). Each item's
    randomness comes from a generator seeded by (seed, epoch, index): the same seed replays a run,
    ``set_epoch`` gives every epoch fresh augmentations. ``classes`` may be None only when no
    sample has a mask.
    """

    def __init__(
        self,
        samples: Sequence[Sample],
        classes: ClassSet | None,
        transform: Transform | None = None,
        label_map: np.ndarray | None = None,
        seed: int = 0,
        name: str = "",
        layout: str = "",
    ) -> None:
        self.samples = list(samples)
        if classes is None and any(s.mask is not None for s in self.samples):
            raise DataError(f"dataset '{name}': it has label masks but no class set")
        self.classes = classes
        self.transform = transform
        self.label_map = None if label_map is None else check_label_map(label_map)
        self.seed = int(seed)
        self.name = name
        self.layout = layout
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.samples)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch, index])

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray | None]:
        """The raw sample: HxWx3 uint8 RGB image and HxW train-id mask (None when unlabelled), checked."""
        sample = self.samples[index]
        image = read_image(sample.image)
        if sample.mask is None:
            return image, None
        mask = read_mask(sample.mask)
        check_same_size(image, mask, sample.image, mask_path=sample.mask)
        if self.label_map is not None:
            mask = apply_label_map(mask, self.label_map, sample.mask)
        assert self.classes is not None  # guaranteed by __init__
        check_labels(mask, self.classes, sample.mask)
        return image, mask

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | str]:
        if not 0 <= index < len(self.samples):
            raise IndexError(f"index {index} is outside 0..{len(self.samples) - 1}")
        image, mask = self.load(index)
        rng = self.rng(index)
        if self.transform is not None:
            image, mask = self.transform(image, mask, rng)
        image, mask = _TO_TENSOR(image, mask, rng)
        item: dict[str, torch.Tensor | str] = {"image": image, "path": str(self.samples[index].image)}
        if mask is not None:
            item["mask"] = mask
        return item

    def validate(self, progress: Callable[[int, int], None] | None = None) -> None:
        """Read and check every sample; the first problem is raised as a DataError naming its file."""
        total = len(self.samples)
        for i in range(total):
            self.load(i)
            if progress is not None:
                progress(i + 1, total)


def detect_layout(root: str | Path) -> DatasetLayout:
    """The first registered layout whose ``detect`` accepts ``root``."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: dataset folder is missing")
    for name in DATASET_LAYOUTS:
        layout = DATASET_LAYOUTS.get(name)
        if layout.detect(root):
            return layout
    raise DataError(f"{root}: no known dataset layout found (known: {', '.join(DATASET_LAYOUTS.names())})")


def open_dataset(
    root: str | Path,
    split: str = "train",
    layout: str | None = None,
    transform: Transform | None = None,
    seed: int = 0,
    sequences: Sequence[str] = (),
    exclude_sequences: Sequence[str] = (),
) -> SegmentationDataset:
    """A labelled split of the dataset in ``root``.

    ``split`` may join splits with ``+`` (``train+val``: the frames of both, each once).
    ``sequences`` keeps only the frames of those sequences and ``exclude_sequences`` drops those
    of others (see core.data.sequences): a sequence held out of training is validated on alone."""
    root = Path(root)
    if layout is None:
        chosen = detect_layout(root)
    else:
        chosen = DATASET_LAYOUTS.get(layout)
        if not root.is_dir():
            raise DataError(f"{root}: dataset folder is missing")
    names = split.split("+")
    if any(not n.strip() for n in names):
        raise DataError(f"split '{split}': name the splits to join with '+', e.g. train+val")
    samples: dict[Path, Sample] = {}
    for name in names:
        found = chosen.samples(root, name.strip())
        if not found:
            raise DataError(f"{root}: split '{name}' has no images ({chosen.name} layout)")
        for sample in found:
            samples.setdefault(sample.image, sample)
    selected = list(samples.values())
    if sequences or exclude_sequences:
        selected = select_sequences(selected, include=tuple(sequences), exclude=tuple(exclude_sequences),
                                    where=f"{root} split '{split}'")
    return SegmentationDataset(
        selected,
        chosen.classes(root),
        transform=transform,
        label_map=getattr(chosen, "label_map", None),
        seed=seed,
        name=f"{root.name}/{split}",
        layout=chosen.name,
    )


def open_unlabelled(
    path: str | Path,
    transform: Transform | None = None,
    classes: ClassSet | None = None,
) -> SegmentationDataset:
    """A folder of images (or one image file) without masks; items have no "mask"."""
    path = Path(path)
    if path.is_file():
        if path.suffix.lower() not in IMAGE_EXTS:
            raise DataError(f"{path}: not an image file (expected one of {', '.join(sorted(IMAGE_EXTS))})")
        images = [path]
    elif path.is_dir():
        images = list_images(path)
        if not images:
            raise DataError(f"{path}: folder has no images")
    else:
        raise DataError(f"{path}: file or folder is missing")
    return SegmentationDataset([Sample(p, None) for p in images], classes, transform=transform, name=path.name)

"""Datasets and loaders for training: labelled splits, unlabelled images or video, class weights."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from core.data import ClassSet, SegmentationDataset, eval_transform, open_dataset, open_unlabelled, train_transform
from core.data.io import read_mask
from core.errors import DataError
from core.train.config import TrainConfig

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")


class VideoFrames(Dataset):
    """Frames of a video file, decoded once into memory (every ``step``-th frame), no labels."""

    def __init__(self, path: Path, transform, size: tuple[int, int] | None, step: int = 1, seed: int = 0) -> None:
        capture = cv2.VideoCapture(str(path))
        if not capture.isOpened():
            raise DataError(f"{path}: cannot open the video")
        self.frames: list[np.ndarray] = []
        index = 0
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            if index % step == 0:
                frame = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                if size is not None:
                    frame = cv2.resize(frame, (size[1], size[0]), interpolation=cv2.INTER_AREA)
                self.frames.append(frame)
            index += 1
        capture.release()
        if not self.frames:
            raise DataError(f"{path}: the video has no readable frame")
        self.transform = transform
        self.seed = seed
        self.epoch = 0
        self.path = path

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, index: int) -> dict:
        rng = np.random.default_rng([self.seed, self.epoch, index])
        image, _ = self.transform(self.frames[index], None, rng)
        return {"image": image, "path": f"{self.path}#{index}"}


def training_set(config: TrainConfig, classes: ClassSet, mean, std) -> Dataset:
    transform = train_transform(config.crop, mean, std, classes.ignore_index, config.scale)
    if config.train_size is not None:
        from core.data import Compose, Resize

        transform = Compose([Resize(config.train_size), *transform.transforms])
    if config.unlabelled:
        path = Path(config.unlabelled)
        if path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES:
            return VideoFrames(path, transform, config.train_size, seed=config.seed)
        return open_unlabelled(path, transform=transform)
    return open_dataset(config.data, config.train_split, layout=config.layout, transform=transform, seed=config.seed)


def validation_set(config: TrainConfig, mean, std) -> SegmentationDataset | None:
    if not config.data:
        return None
    dataset = open_dataset(config.data, config.val_split, layout=config.layout,
                           transform=eval_transform(mean, std, config.eval_size))
    if config.val_limit:
        dataset.samples = dataset.samples[: config.val_limit]
    return dataset


def label_counts(dataset: SegmentationDataset) -> np.ndarray:
    """Pixels per class over a labelled dataset's masks (the ignore index left out)."""
    classes = dataset.classes
    counts = np.zeros(classes.num_classes, dtype=np.int64)
    for sample in dataset.samples:
        mask = read_mask(sample.mask)
        if dataset.label_map is not None:
            mask = dataset.label_map[mask]
        values = mask[mask != classes.ignore_index].ravel()
        counts += np.bincount(values, minlength=classes.num_classes)[: classes.num_classes]
    return counts


def make_loader(dataset: Dataset, batch_size: int, seed: int, rank: int, world_size: int,
                workers: int) -> tuple[DataLoader, DistributedSampler]:
    """A shuffled loader whose order depends only on (seed, epoch): resumable, and sharded under DDP."""
    if len(dataset) < batch_size * world_size:
        raise DataError(f"the training set has {len(dataset)} images, fewer than one batch "
                        f"({batch_size} x {world_size} processes)")
    sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=seed, drop_last=True)
    loader = DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=workers, drop_last=True,
                        persistent_workers=workers > 0, generator=torch.Generator().manual_seed(seed))
    return loader, sampler


def count_unlabelled(path: Path) -> int:
    """Images in an unlabelled folder, or readable frames a video claims (0 when unreadable)."""
    if path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES:
        capture = cv2.VideoCapture(str(path))
        try:
            ok, _ = capture.read()
            return int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if ok else 0
        finally:
            capture.release()
    try:
        return len(open_unlabelled(path))
    except DataError:
        return 0

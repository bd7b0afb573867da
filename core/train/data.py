"""Datasets and loaders for training: labelled splits, unlabelled images or video, class weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from core.data import ClassSet, SegmentationDataset, eval_transform, open_dataset, open_unlabelled, train_transform
from core.data.io import read_mask
from core.data.video_frames import VideoFrames, frame_count, is_video_file
from core.errors import DataError
from core.train.config import TrainConfig


def training_set(config: TrainConfig, classes: ClassSet, mean, std) -> Dataset:
    transform = train_transform(config.crop, mean, std, ignore_index=classes.ignore_index, scale=config.scale,
                                augmentation=config.augment)
    if config.train_size is not None:
        from core.data import Compose, Resize

        transform = Compose([Resize(config.train_size), *transform.transforms])
    if config.unlabelled:
        path = Path(config.unlabelled)
        if is_video_file(path):
            return VideoFrames(path, transform, config.train_size, seed=config.seed)
        return open_unlabelled(path, transform=transform)
    return labelled_training_set(config, transform)


def labelled_training_set(config: TrainConfig, transform=None) -> SegmentationDataset:
    """The labelled training frames: ``train_split`` without the held-out sequences."""
    return open_dataset(config.data, config.train_split, layout=config.layout, transform=transform, seed=config.seed,
                        exclude_sequences=config.held_out)


def validation_set(config: TrainConfig, mean, std) -> SegmentationDataset | None:
    """``val_split``; with held-out sequences, every frame of them in ``train_split`` and ``val_split``."""
    if not config.data:
        return None
    transform = eval_transform(mean, std, config.eval_size)
    if config.held_out:
        dataset = open_dataset(config.data, config.held_out_pool, layout=config.layout, transform=transform,
                               sequences=config.held_out)
    else:
        dataset = open_dataset(config.data, config.val_split, layout=config.layout, transform=transform)
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
    if is_video_file(path):
        return frame_count(path)
    try:
        return len(open_unlabelled(path))
    except DataError:
        return 0

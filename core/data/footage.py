"""Images without labels, evenly spaced over a split, a folder or a video: what label-free
calibration (the search) and int8 calibration (core.deploy.quantize) read."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.data import eval_transform, open_unlabelled
from core.data.datasets import SegmentationDataset
from core.data.video_frames import VideoFrames, evenly_spaced_indices, frame_count, is_video_file
from core.errors import ConfigError, DataError

if TYPE_CHECKING:
    from core.models.network import MultiExitNet


def evenly_spaced(dataset: SegmentationDataset, limit: int | None) -> SegmentationDataset:
    """At most ``limit`` samples spread evenly over the split (all when ``limit`` is None or 0).

    Video-derived splits (CamVid) hold runs of near-identical frames: spacing the subset out keeps
    a quick calibration representative, where the first N images would all show one street."""
    n = len(dataset.samples)
    if not limit or limit >= n:
        return dataset
    if limit < 1:
        raise ConfigError(f"image limit must be at least 1, got {limit}")
    picks = np.unique(np.round(np.linspace(0, n - 1, int(limit))).astype(int))
    dataset.samples = [dataset.samples[int(i)] for i in picks]
    return dataset


DEFAULT_VIDEO_FRAMES = 100  # frames a label-free calibration takes from a video without --limit


def open_unlabelled_calibration_set(path: str | Path, net: "MultiExitNet", input_size: tuple[int, int] | None = None,
                                    limit: int | None = None):
    """Unlabelled footage that calibrates ``net`` against its own final exit: an image folder or a
    video file (at most ``limit`` frames, evenly spaced; a video takes DEFAULT_VIDEO_FRAMES without
    one). Frames are resized to ``input_size``, else to the model's input size, as `mess run` does."""
    if limit is not None and limit < 1:
        raise ConfigError(f"image limit must be at least 1, got {limit}")
    size = input_size or (tuple(net.spec.input_size) if net.spec.input_size else None)
    transform = eval_transform(net.spec.mean, net.spec.std, None)
    if is_video_file(path):
        count = frame_count(path)
        if count == 0:
            raise DataError(f"{path}: cannot read the video")
        picks = evenly_spaced_indices(count, limit or DEFAULT_VIDEO_FRAMES)
        return VideoFrames(path, transform, size, picks=picks)
    dataset = open_unlabelled(path, transform=eval_transform(net.spec.mean, net.spec.std, size))
    return evenly_spaced(dataset, limit)

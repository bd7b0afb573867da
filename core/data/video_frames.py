"""Frames of a video file as an unlabelled dataset (label-free stage 2, label-free calibration)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from torch.utils.data import Dataset

from core.errors import DataError

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")


def is_video_file(path: str | Path) -> bool:
    path = Path(path)
    return path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES


def frame_count(path: str | Path) -> int:
    """Frames the video claims (0 when it cannot be opened or read)."""
    capture = cv2.VideoCapture(str(path))
    try:
        ok, _ = capture.read()
        return int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if ok else 0
    finally:
        capture.release()


def evenly_spaced_indices(count: int, limit: int | None) -> list[int]:
    """At most ``limit`` frame numbers spread evenly over ``count`` frames (all when no limit)."""
    if not limit or limit >= count:
        return list(range(count))
    return [int(i) for i in np.unique(np.round(np.linspace(0, count - 1, int(limit))).astype(int))]


class VideoFrames(Dataset):
    """Frames of a video file, decoded once into memory as RGB, no labels.

    ``picks``: the frame numbers to keep (default every frame); ``size`` (H, W) resizes them
    (INTER_AREA). Items are {"image": the transformed frame, "path": "VIDEO#frame"}; a
    ``transform`` taking (image, mask, rng) gets a generator seeded by (seed, epoch, index).
    """

    def __init__(self, path: str | Path, transform, size: tuple[int, int] | None,
                 picks: list[int] | None = None, seed: int = 0) -> None:
        path = Path(path)
        capture = cv2.VideoCapture(str(path))
        if not capture.isOpened():
            raise DataError(f"{path}: cannot open the video")
        wanted = None if picks is None else set(picks)
        last = None if picks is None else max(picks, default=-1)
        self.frames: list[np.ndarray] = []
        self.indices: list[int] = []
        index = 0
        try:
            while last is None or index <= last:
                ok, frame = capture.read()
                if not ok:
                    break
                if wanted is None or index in wanted:
                    frame = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                    if size is not None:
                        frame = cv2.resize(frame, (size[1], size[0]), interpolation=cv2.INTER_AREA)
                    self.frames.append(frame)
                    self.indices.append(index)
                index += 1
        finally:
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
        return {"image": image, "path": f"{self.path}#{self.indices[index]}"}

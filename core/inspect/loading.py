"""The frame to inspect: an image file or one frame of a video, with its label, at the model's input size."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from core.data.checks import check_labels, check_same_size
from core.data.classes import ClassSet
from core.data.io import read_image, read_mask
from core.data.transforms import preprocess_frame
from core.data.video_frames import is_video_file
from core.errors import DataError

def read_video_frame(path: Path, index: int) -> np.ndarray:
    """Frame ``index`` (from 0) of a video, HxWx3 uint8 RGB."""
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise DataError(f"{path}: cannot be opened as a video")
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        if index < 0 or (count > 0 and index >= count):
            raise DataError(f"{path}: frame {index} is outside 0..{count - 1}")
        capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, frame = capture.read()
        if not ok:
            raise DataError(f"{path}: frame {index} cannot be read")
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    finally:
        capture.release()


def read_frame(path: str | Path, frame: int | None = None) -> np.ndarray:
    """An image file, or frame ``frame`` (default 0) of a video file, as HxWx3 uint8 RGB."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file is missing")
    if is_video_file(path):
        return read_video_frame(path, frame or 0)
    if frame:
        raise DataError(f"{path}: --frame is for a video file, this is an image")
    return read_image(path)


def read_label(path: str | Path, image: np.ndarray, image_path: str | Path, classes: ClassSet) -> np.ndarray:
    """A label image of train ids (0..C-1 or the ignore index), the size of its image."""
    path = Path(path)
    mask = read_mask(path)
    check_same_size(image, mask, Path(image_path), mask_path=path)
    check_labels(mask, classes, path)
    return mask


def at_input_size(image: np.ndarray, label: np.ndarray | None, size: tuple[int, int] | None,
                  mean, std) -> tuple[np.ndarray, np.ndarray | None, torch.Tensor]:
    """The frame resized to ``size`` (HxW; None: as it is) as the live pipeline resizes it (INTER_AREA,
    so a video frame is inspected exactly as `mess run` and the Live page see it), the label
    nearest-neighbour, and the frame preprocessed."""
    if size is not None and tuple(image.shape[:2]) != tuple(size):
        h, w = size
        image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
        label = None if label is None else cv2.resize(label.astype(np.int32), (w, h), interpolation=cv2.INTER_NEAREST)
    return np.ascontiguousarray(image), label, preprocess_frame(image, mean, std)

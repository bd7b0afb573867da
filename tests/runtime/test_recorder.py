"""VideoRecorder: readable videos, all or nothing, one-line errors."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from core.errors import MessError
from core.runtime.video.recorder import VideoRecorder

H, W = 48, 64


def read_back(path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def red(h: int = H, w: int = W) -> np.ndarray:
    frame = np.zeros((h, w, 3), np.uint8)
    frame[..., 0] = 230  # RGB red
    return frame


@pytest.mark.parametrize("name", ["clip.mp4", "clip.avi", "clip.mkv", "CLIP.MP4"])
def test_records_a_readable_video(tmp_path, name):
    path = tmp_path / "sub" / name  # the folder is created
    with VideoRecorder(path, 10.0, (H, W)) as recorder:
        for _ in range(7):
            recorder.write(red())
        assert not path.exists()  # written beside it until closed
    assert recorder.frames == 7
    frames = read_back(path)
    assert len(frames) == 7
    assert frames[0].shape == (H, W, 3)
    bgr = frames[3].reshape(-1, 3).mean(axis=0)
    assert bgr[2] > 180 and bgr[0] < 60  # red stays red
    assert sorted(p.name for p in path.parent.iterdir()) == [name]  # no temporary left


def test_frames_of_another_size_are_resized(tmp_path):
    path = tmp_path / "clip.mp4"
    with VideoRecorder(path, 25.0, (H, W)) as recorder:
        recorder.write(red(96, 128))
        recorder.write(red())
    frames = read_back(path)
    assert len(frames) == 2 and all(f.shape == (H, W, 3) for f in frames)


def test_a_failure_leaves_nothing(tmp_path):
    path = tmp_path / "clip.mp4"
    with pytest.raises(RuntimeError):
        with VideoRecorder(path, 10.0, (H, W)) as recorder:
            recorder.write(red())
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_abort_and_empty_recordings_leave_nothing(tmp_path):
    recorder = VideoRecorder(tmp_path / "a.mp4", 10.0, (H, W))
    recorder.write(red())
    recorder.abort()
    assert VideoRecorder(tmp_path / "b.mp4", 10.0, (H, W)).close() is None
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(MessError):
        recorder.write(red())


@pytest.mark.parametrize("name", ["clip.gif", "clip"])
def test_unsupported_extension(tmp_path, name):
    with pytest.raises(MessError) as info:
        VideoRecorder(tmp_path / name, 10.0, (H, W))
    line = str(info.value)
    assert "\n" not in line and str(tmp_path / name) in line and ".mp4" in line
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_cannot_be_written(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file, not a folder")
    path = blocker / "clip.mp4"
    with pytest.raises(MessError) as info:
        VideoRecorder(path, 10.0, (H, W))
    assert "\n" not in str(info.value) and str(path) in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


def test_bad_frame_rate(tmp_path):
    with pytest.raises(MessError):
        VideoRecorder(tmp_path / "clip.mp4", 0.0, (H, W))
    assert list(tmp_path.iterdir()) == []

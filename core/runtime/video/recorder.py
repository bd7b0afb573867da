"""Recording RGB frames to a video file, all or nothing.

Frames go to a temporary file beside the target (same folder, same extension,
so the container is the same) that is renamed onto the target by ``close()``.
A recording that fails, is aborted, or has no frame leaves nothing behind.

OpenCV's writer reports no error when a write fails: on a full disk it prints a warning per frame
and finishes a file without its index. The recorder keeps OpenCV quiet, checks the free space of
the video's disk as it writes, and stops at the first frame that finds it full (MessError, one line).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np

from core.errors import MessError
from core.fileio import temp_beside
from core.runtime.video.quiet import quiet_opencv

# extension -> FourCC; all written by the FFmpeg inside opencv-python
FOURCC: dict[str, str] = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".mkv": "mp4v", ".avi": "MJPG"}

# below this many free bytes the video's disk counts as full: the writer's next buffer (32 KiB
# in FFmpeg) and the index written at the end would not fit
MIN_FREE_BYTES = 64 * 1024


def check_video_path(path: str | Path) -> Path:
    """``path`` as a Path, or a one-line MessError when its extension is not one we can record."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in FOURCC:
        raise MessError(f"{path}: cannot record '{ext or 'no extension'}' video (use {', '.join(sorted(FOURCC))})")
    return path


def _readable(path: Path) -> bool:
    """Whether OpenCV can open the finished file and read its first frame."""
    capture = cv2.VideoCapture(str(path))
    try:
        return capture.isOpened() and capture.read()[0]
    finally:
        capture.release()


def _free_bytes(folder: Path) -> int | None:
    """Free bytes on ``folder``'s disk, None when the system cannot say."""
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


class VideoRecorder:
    """Writes HxWx3 uint8 RGB frames to ``path`` at ``fps``; ``size`` is (height, width).

    Frames of another size are resized to ``size``. Use as a context manager: a clean
    exit keeps the video, an exception deletes it.
    """

    def __init__(self, path: str | Path, fps: float, size: tuple[int, int]) -> None:
        self.path = check_video_path(path)
        ext = self.path.suffix.lower()
        if not (fps > 0 and np.isfinite(fps)):
            raise MessError(f"{self.path}: frame rate {fps} must be a positive number")
        self.fps = float(fps)
        self.size = (int(size[0]), int(size[1]))
        self.frames = 0
        # same extension: same container
        self._temp = temp_beside(self.path, prefix=f".{self.path.stem}.", suffix=f".part{ext}")
        h, w = self.size
        self._writer = cv2.VideoWriter(str(self._temp), cv2.VideoWriter_fourcc(*FOURCC[ext]), self.fps, (w, h))
        if not self._writer.isOpened():
            self._writer.release()
            self._temp.unlink(missing_ok=True)
            raise MessError(f"{self.path}: OpenCV cannot write {FOURCC[ext]} video here")
        self._open = True

    def write(self, rgb: np.ndarray) -> None:
        """Append one HxWx3 uint8 RGB frame."""
        if not self._open:
            raise MessError(f"{self.path}: the recording is already closed")
        h, w = self.size
        if rgb.shape[:2] != (h, w):
            rgb = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
        with quiet_opencv():
            self._writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        self.frames += 1
        free = _free_bytes(self._temp.parent)
        if free is not None and free < MIN_FREE_BYTES:
            self.abort()
            raise MessError(f"{self.path}: its disk is full ({free:,} bytes free) after {self.frames} "
                            f"frame{'s' * (self.frames != 1)}; nothing was kept")

    def close(self) -> Path | None:
        """Finish the file and move it onto ``path``; with no frame written, nothing is kept (returns None)."""
        if not self._open:
            return self.path if self.path.exists() and self.frames else None
        self._open = False
        with quiet_opencv():
            self._writer.release()
        if self.frames == 0:
            self._temp.unlink(missing_ok=True)
            return None
        if not _readable(self._temp):
            # OpenCV's writer reports no error: a full disk leaves a file without its index (moov atom).
            free = shutil.disk_usage(self._temp.parent).free
            self._temp.unlink(missing_ok=True)
            raise MessError(f"{self.path}: the video could not be written completely ({free:,} bytes free on "
                            f"its disk); nothing was kept")
        try:
            with open(self._temp, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(self._temp, self.path)
        except OSError as exc:
            self._temp.unlink(missing_ok=True)
            raise MessError(f"{self.path}: cannot be written ({exc.strerror})") from None
        return self.path

    def abort(self) -> None:
        """Stop and delete what was recorded."""
        if self._open:
            self._open = False
            with quiet_opencv():
                self._writer.release()
        self._temp.unlink(missing_ok=True)

    def __enter__(self) -> "VideoRecorder":
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()

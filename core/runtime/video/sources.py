"""Video sources: a webcam, a network stream, a folder of images, a video file.

``open_source(spec)`` asks each registered kind, in registration order, whether
``spec`` is one of its own (an integer is a webcam index, an rtsp:// or
http(s):// URL a stream, an existing folder a folder of images, anything else a
file) and opens it with the first that says yes. A new kind is one
``SOURCES.add`` away; nothing here is an if/elif chain over kinds.

Every source hands out HxWx3 uint8 **RGB** frames from ``read()`` (``None`` at
the end of a file or folder) and is closed with ``close()`` or a ``with``
block. Every failure is a ``SourceError`` of one line that names the source.
Opening never takes longer than ``timeout_s`` (5 s by default): OpenCV is
asked for that open/read timeout, and the open runs on a helper thread that is
abandoned if OpenCV does not honour it. A live source (webcam, stream) that
stops delivering frames raises ``SourceError`` from ``read()``: for a live
source there is no normal end. A live read is watched the same way: one that
has not returned ``READ_GRACE_S`` after the timeout (a half-open stream, a
driver that ignores the timeout) is abandoned and raises ``SourceError``.
OpenCV's own warnings (FFmpeg's "Stream timeout triggered"...) stay off while
a live source reads: the one-line error says what happened.
"""

from __future__ import annotations

import os
import re
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Callable, Iterator, Sequence

import cv2
import numpy as np

from core.errors import SourceError
from core.registry import Registry
from core.runtime.video.quiet import quiet_opencv

# FFmpeg writes its own lines (connection refused, moov atom not found...) straight to stderr;
# the one-line SourceError says it better. Read once, when FFmpeg is first used; a user's own
# setting wins.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
STREAM_SCHEMES: tuple[str, ...] = ("rtsp", "rtsps", "http", "https")
DEFAULT_TIMEOUT_S = 5.0
READ_GRACE_S = 1.0   # how much longer than the timeout a live read may block before it is abandoned
_URL = re.compile(r"^(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*)://")


# --- the source interface ------------------------------------------------------------------

class FrameSource(ABC):
    """A stream of HxWx3 uint8 RGB frames.

    Attributes: ``name`` (for messages), ``kind`` (its registry name), ``live``
    (a webcam or stream: frames come at the source's pace and are lost if not
    taken), ``fps`` (nominal frames per second, None when unknown) and
    ``frame_count`` (None when unknown or unbounded).
    """

    name: str
    kind: str
    live: bool = False
    fps: float | None = None
    frame_count: int | None = None

    @abstractmethod
    def read(self) -> np.ndarray | None:
        """The next frame (HxWx3 uint8 RGB), or None at the end of a file or folder."""

    def close(self) -> None:
        """Release the device or file; safe to call twice, and while a ``read`` blocks elsewhere."""

    def __enter__(self) -> "FrameSource":
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def __iter__(self) -> Iterator[np.ndarray]:
        while (frame := self.read()) is not None:
            yield frame

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.kind} {self.name!r}>"


def to_rgb(frame: np.ndarray) -> np.ndarray:
    """An OpenCV frame (BGR, BGRA or grey; 8 or 16 bit) -> HxWx3 uint8 RGB."""
    if frame.dtype != np.uint8:
        frame = (cv2.convertScaleAbs(frame, alpha=255.0 / 65535.0) if frame.dtype == np.uint16
                 else frame.astype(np.uint8))
    if frame.ndim == 2 or frame.shape[2] == 1:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


def _nominal(value: float, low: float, high: float) -> float | None:
    return float(value) if np.isfinite(value) and low < value < high else None


# --- OpenCV captures: webcam, stream, video file ---------------------------------------------

def make_capture(target: int | str, api: int, params: Sequence[int]) -> Any:
    """Create a cv2.VideoCapture (a module attribute so that tests can put a fake camera here)."""
    return cv2.VideoCapture(target, api, list(params))


class CaptureSource(FrameSource):
    """A source read through cv2.VideoCapture, opened and checked by ``open_capture``."""

    def __init__(self, capture: Any, first: np.ndarray, name: str, kind: str, live: bool,
                 timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self._capture = capture
        self._pending: np.ndarray | None = first
        self._lock = threading.Lock()
        self._reading = False
        self._closed = False
        self._stalled = False
        self.timeout_s = timeout_s
        self.name, self.kind, self.live = name, kind, live
        self.fps = _nominal(capture.get(cv2.CAP_PROP_FPS), 0.0, 1000.0)
        count = capture.get(cv2.CAP_PROP_FRAME_COUNT)
        self.frame_count = None if live else (int(count) if np.isfinite(count) and count > 0 else None)

    def read(self) -> np.ndarray | None:
        with self._lock:
            if self._closed:
                return None
            if self._pending is not None:
                frame, self._pending = self._pending, None
                return to_rgb(frame)
            if self._stalled:
                raise SourceError(self._stall_message())
            self._reading = True
        try:
            ok, frame = self._watched_read() if self.live else self._capture.read()
        except cv2.error as exc:
            ok, frame = False, None
            if not self.live:
                raise SourceError(f"{self.name}: cannot decode the next frame "
                                  f"({str(exc).strip().splitlines()[-1]})") from None
        finally:
            with self._lock:
                stalled = self._stalled   # then the abandoned read still runs, and ends the reading
                if not stalled:
                    self._reading = False
                release_now = self._closed and not stalled
        if release_now:  # closed by another thread while this read blocked
            self._capture.release()
            return None
        if not ok or frame is None:
            if self.live:
                raise SourceError(f"{self.name}: stopped delivering frames (unplugged, or the stream ended)")
            return None
        return to_rgb(frame)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._reading:  # the blocked read releases the capture when it returns
                return
        self._capture.release()

    def _stall_message(self) -> str:
        return (f"{self.name}: no frame for {self.timeout_s + READ_GRACE_S:g} s "
                f"(the stream or camera stopped answering)")

    def _watched_read(self) -> tuple[bool, Any]:
        """``capture.read()`` of a live source on a helper thread, abandoned (SourceError) if it blocks past
        the timeout: OpenCV's read timeout holds for FFmpeg streams only, and not for every stall. The
        abandoned read goes on; when it returns it releases the capture if the source was closed meanwhile."""
        box: dict[str, Any] = {}
        done = threading.Event()

        def worker() -> None:
            try:
                with quiet_opencv():
                    box["result"] = self._capture.read()
            except BaseException as exc:  # noqa: BLE001 - raised again by the caller
                box["error"] = exc
            finally:
                with self._lock:
                    done.set()
                    abandoned = box.get("abandoned", False)
                    if abandoned:
                        self._reading = False
                    release = abandoned and self._closed
                if release:
                    self._capture.release()

        thread = threading.Thread(target=worker, name=f"read {self.name}", daemon=True)
        thread.start()
        if not done.wait(self.timeout_s + READ_GRACE_S):
            with self._lock:
                if not done.is_set():
                    box["abandoned"] = self._stalled = True
            if box.get("abandoned"):
                abandon(thread)
                raise SourceError(self._stall_message())
        if "error" in box:
            raise box["error"]
        return box["result"]


_ABANDONED: list[threading.Thread] = []


def abandon(thread: threading.Thread) -> None:
    """Note a thread left blocked in a read or an open that cannot be interrupted (see stuck_in_opencv)."""
    _ABANDONED.append(thread)


def stuck_in_opencv() -> bool:
    """Whether a source left a thread blocked inside OpenCV/FFmpeg (a stream that gave no answer).

    Such a thread cannot be stopped, and letting the interpreter finalise around it aborts the
    process ('terminate called without an active exception'): a program about to exit should
    end with ``os._exit`` then (``core.cli.main`` does)."""
    return any(thread.is_alive() for thread in _ABANDONED)


def open_capture(target: int | str, api: int, name: str, kind: str, live: bool,
                 timeout_s: float = DEFAULT_TIMEOUT_S, failure: str = "cannot be opened") -> CaptureSource:
    """Open a capture and read its first frame, in at most ``timeout_s`` seconds."""
    ms = int(timeout_s * 1000)
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
    lock = threading.Lock()
    box: dict[str, Any] = {}
    done = threading.Event()

    def worker() -> None:
        capture, frame, error = None, None, None
        try:
            with quiet_opencv():
                capture = make_capture(target, api, params)
                if capture.isOpened():
                    ok, frame = capture.read()
                    frame = frame if ok else None
        except cv2.error as exc:
            error = str(exc).strip().splitlines()[-1]
        with lock:
            abandoned = box.get("abandoned", False)
            box.update(capture=capture, frame=frame, error=error)
            done.set()
        if abandoned and capture is not None:
            capture.release()

    thread = threading.Thread(target=worker, name=f"open {name}", daemon=True)
    thread.start()
    done.wait(timeout_s)
    with lock:
        if not done.is_set():
            box["abandoned"] = True
            abandon(thread)
            raise SourceError(f"{name}: no answer within {timeout_s:g} s")
    capture, frame = box["capture"], box["frame"]
    if box["error"] or capture is None or not capture.isOpened():
        if capture is not None:
            capture.release()
        detail = f" ({box['error']})" if box["error"] else ""
        raise SourceError(f"{name}: {failure}{detail}")
    if frame is None:
        capture.release()
        what = "delivered no frame" if live else "has no frame OpenCV can decode"
        raise SourceError(f"{name}: opened, but {what} within {timeout_s:g} s" if live else f"{name}: {what}")
    return CaptureSource(capture, frame, name, kind=kind, live=live, timeout_s=timeout_s)


def _masked_url(url: str) -> str:
    """The URL with any password replaced by ***, for messages."""
    return re.sub(r"^([a-zA-Z][a-zA-Z0-9+.-]*://[^/@:]*):[^/@]*@", r"\1:***@", url)


# --- folders and single images -----------------------------------------------------------

def _natural_key(path: Path) -> list:
    """Sort by name, numbers by value: frame_2 before frame_10."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def read_image_rgb(path: Path) -> np.ndarray:
    """One image file -> HxWx3 uint8 RGB; SourceError naming the file when it cannot be decoded."""
    try:
        data = np.fromfile(str(path), dtype=np.uint8)  # also non-ASCII paths on Windows
    except OSError as exc:
        raise SourceError(f"{path}: cannot be read ({exc.strerror})") from None
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise SourceError(f"{path}: not an image OpenCV can decode")
    return to_rgb(image)


class ImageFilesSource(FrameSource):
    """A list of image files read in order: a folder of images, or one image as a 1-frame source."""

    def __init__(self, paths: list[Path], name: str, kind: str, fps: float | None = None) -> None:
        self.paths = paths
        self.name, self.kind, self.live = name, kind, False
        self.fps = fps
        self.frame_count = len(paths)
        self._next = 0

    def read(self) -> np.ndarray | None:
        if self._next >= len(self.paths):
            return None
        path = self.paths[self._next]
        self._next += 1
        return read_image_rgb(path)

    def close(self) -> None:
        self._next = len(self.paths)


# --- the registry of kinds -----------------------------------------------------------------

@dataclass(frozen=True)
class SourceKind:
    """One kind of source: which specs it claims, and how it opens them."""

    name: str
    description: str
    matches: Callable[[str], bool]
    open: Callable[[str, float], FrameSource]


SOURCES: Registry[SourceKind] = Registry("video source kind")


def _is_webcam(spec: str) -> bool:
    return spec.strip().isdigit()


def _open_webcam(spec: str, timeout_s: float) -> FrameSource:
    index = int(spec.strip())
    return open_capture(index, cv2.CAP_ANY, f"webcam {index}", kind="webcam", live=True, timeout_s=timeout_s,
                        failure="cannot be opened (no such camera, or another program is using it)")


def _is_stream(spec: str) -> bool:
    match = _URL.match(spec.strip())
    return bool(match) and match.group("scheme").lower() in STREAM_SCHEMES


def _open_stream(spec: str, timeout_s: float) -> FrameSource:
    url = spec.strip()
    return open_capture(url, cv2.CAP_FFMPEG, _masked_url(url), kind="rtsp", live=True, timeout_s=timeout_s,
                        failure=f"cannot connect, or not a video stream (tried for up to {timeout_s:g} s)")


def _is_folder(spec: str) -> bool:
    return Path(spec).expanduser().is_dir()


def _open_folder(spec: str, timeout_s: float) -> FrameSource:
    folder = Path(spec).expanduser()
    try:
        paths = [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()]
    except OSError as exc:
        raise SourceError(f"{folder}: cannot list the folder ({exc.strerror})") from None
    if not paths:
        exts = ", ".join(e.lstrip(".") for e in IMAGE_EXTENSIONS)
        raise SourceError(f"{folder}: no images in this folder (looked for {exts})")
    return ImageFilesSource(sorted(paths, key=_natural_key), str(folder), "folder")


def _is_file(spec: str) -> bool:
    return not _URL.match(spec.strip())


def _open_file(spec: str, timeout_s: float) -> FrameSource:
    path = Path(spec).expanduser()
    if not path.exists():
        raise SourceError(f"{spec}: no such file or folder")
    if not path.is_file():
        raise SourceError(f"{spec}: not a video file")
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        read_image_rgb(path)  # fail now, not at the first read
        return ImageFilesSource([path], str(path), "file")
    return open_capture(str(path), cv2.CAP_FFMPEG, str(path), kind="file", live=False, timeout_s=timeout_s,
                        failure="not a video OpenCV can read (unknown format, or damaged)")


SOURCES.add("webcam", SourceKind("webcam", "a webcam index: 0, 1, ...", _is_webcam, open=_open_webcam))
SOURCES.add("rtsp", SourceKind("rtsp", "a network stream: rtsp://, rtsps://, http://, https://", _is_stream,
                               open=_open_stream))
SOURCES.add("folder", SourceKind("folder", "a folder of images, read in name order", _is_folder, open=_open_folder))
SOURCES.add("file", SourceKind("file", "a video file (or one image)", _is_file, open=_open_file))


def source_kind(spec: str | int) -> str:
    """The name of the kind that would open ``spec``."""
    text = str(spec)
    for name in SOURCES:
        if SOURCES.get(name).matches(text):
            return name
    kinds = "; ".join(SOURCES.get(name).description for name in SOURCES)
    raise SourceError(f"{text}: not a video source ({kinds})")


def open_source(spec: str | int, kind: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S) -> FrameSource:
    """Open a webcam index, a stream URL, a folder of images or a video file (``kind`` forces one)."""
    text = str(spec)
    if not text.strip():
        raise SourceError("empty video source: give a webcam index, a video file, a folder of images or a URL")
    return SOURCES.get(kind or source_kind(text)).open(text, timeout_s)

"""Reading a source for the live pipeline: the newest-frame reader and ``stream``.

``LatestFrameReader`` reads the source on its own thread and keeps only the
newest frame: when the model is slower than a camera, the frames it could not
take are dropped (and counted), so what is shown is never more than one frame
old and nothing queues up. Files and folders are handed over frame by frame
without dropping, unless ``realtime`` asks for them to play at their own speed.
``stream`` ties the reader to a core.runtime.live.LiveRunner as an iterator of FrameResults.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Iterator, NamedTuple

import numpy as np

from core.jobs import CancelToken
from core.runtime.live import FrameResult, LiveRunner, LiveStats
from core.runtime.video.sources import FrameSource

FALLBACK_FPS = 25.0  # pace of a realtime folder (or file) that states no frame rate
_POLL_S = 0.1  # how often a waiting consumer checks its cancel token


# --- the reader ------------------------------------------------------------------------------

class Frame(NamedTuple):
    index: int
    image: np.ndarray
    dropped: int  # frames dropped since the previous one handed over


class LatestFrameReader:
    """Reads a source on a background thread, keeping only the newest frame.

    Live sources (webcam, stream) always drop: a frame not taken before the next
    arrives is lost and counted. A file or folder with ``realtime=True`` is read at
    its own frame rate (``FALLBACK_FPS`` when it states none) and drops the same way;
    with ``realtime=False`` every frame is handed over in order (the reader waits for
    the consumer). An exception raised by the source is raised again by the next
    ``get()`` (after the frame already waiting, if any); the reader has then ended.
    ``close()`` returns within ``join_timeout_s`` even when the source is
    blocked in a read; the thread then ends as soon as that read returns.
    """

    def __init__(self, source: FrameSource, realtime: bool = False, join_timeout_s: float = 2.0) -> None:
        self.source = source
        self.drops = bool(source.live or realtime)
        self.pace = None if source.live or not realtime else 1.0 / (source.fps or FALLBACK_FPS)
        self.join_timeout_s = join_timeout_s
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._slot: Frame | None = None
        self._ended = False
        self._error: BaseException | None = None
        self._dropped_since = 0
        self.dropped_total = 0
        self.frames_read = 0
        self.started_at = time.perf_counter()
        self._thread = threading.Thread(target=self._loop, name=f"read {source.name}", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        index = 0
        try:
            while not self._stop.is_set():
                if self.pace is not None:
                    delay = self.started_at + index * self.pace - time.perf_counter()
                    if delay > 0 and self._stop.wait(delay):
                        break
                image = self.source.read()
                if image is None or self._stop.is_set():
                    break
                with self._cond:
                    if not self.drops:
                        while self._slot is not None and not self._stop.is_set():
                            self._cond.wait()
                    elif self._slot is not None:
                        self._dropped_since += 1
                        self.dropped_total += 1
                    self._slot = Frame(index, image, 0)
                    self.frames_read += 1
                    self._cond.notify_all()
                index += 1
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            with self._cond:
                self._error = exc
        finally:
            with self._cond:
                self._ended = True
                self._cond.notify_all()

    def get(self, timeout: float | None = None) -> Frame | None:
        """The newest frame not yet taken; None at the end; TimeoutError if none came in ``timeout`` s."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                if self._slot is not None:
                    frame, self._slot = self._slot, None
                    frame = frame._replace(dropped=self._dropped_since)
                    self._dropped_since = 0
                    self._cond.notify_all()
                    return frame
                if self._error is not None:
                    error, self._error = self._error, None
                    raise error
                if self._ended:
                    return None
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise TimeoutError("no frame yet")
                self._cond.wait(left)

    def close(self) -> None:
        """Stop the thread (and wait for it, up to ``join_timeout_s``)."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self._thread.join(self.join_timeout_s)
        if self._thread.is_alive():      # blocked in the source's read: it ends when the read returns
            from core.runtime.video.sources import abandon

            abandon(self._thread)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def __enter__(self) -> "LatestFrameReader":
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


# --- the pipeline ----------------------------------------------------------------------------

def _next_frame(reader: LatestFrameReader, cancel: CancelToken | None) -> Frame | None:
    if cancel is None:
        return reader.get()
    while not cancel.cancelled:
        try:
            return reader.get(timeout=_POLL_S)
        except TimeoutError:
            continue
    return None


def stream(source: FrameSource, runner: LiveRunner, *, max_frames: int | None = None, realtime: bool = False,
           cancel: CancelToken | None = None, stats: LiveStats | None = None) -> Iterator[FrameResult]:
    """FrameResults of ``source`` until it ends, ``max_frames`` results, or ``cancel`` (which ends it quietly).

    Frames are read on a ``LatestFrameReader`` thread (see it for dropping). ``stats``,
    when given, is started at the first read and gets every result. Closing the iterator
    (or leaving a ``for`` loop) stops the reader; the source stays open (its owner closes it).
    """
    with LatestFrameReader(source, realtime=realtime) as reader:
        if stats is not None:
            stats.start(reader.started_at)
        count = 0
        while max_frames is None or count < max_frames:
            if cancel is not None and cancel.cancelled:
                return
            frame = _next_frame(reader, cancel)
            if frame is None:
                return
            result = runner.process(frame.image, index=frame.index, dropped=frame.dropped)
            count += 1
            if stats is not None:
                stats.add(result, time.perf_counter())
            yield result

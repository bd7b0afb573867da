"""The Live page's worker: core.runtime.video.player.LivePlayer on its own QThread, its events as Qt signals.

Everything slow happens on that thread, never on the UI thread: the player opens the source,
reads, runs the model, draws and records; this adapter only turns each drawn picture into a
QImage and each event into a signal. Frames are handed to the UI through one slot:
``frame_ready`` is emitted only when the slot was empty, and a frame the UI has not taken yet is
replaced by the newer one, so the UI never has more than one frame queued and always draws the
newest. Controls (pause, step, thresholds, opacity, overlay style, side by side, recording) are the player's
thread-safe calls.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import traceback
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal
from PySide6.QtGui import QImage

from core.runtime.video import player as events
from core.runtime.config import ExitConfig
from core.runtime.video.deadline_tally import DeadlineTally
from core.runtime.video.exit_words import ExitShare
from core.runtime.live import FrameResult
from core.runtime.video.player import LivePlayer, SourceInfo, one_line
from core.runtime.video.sources import DEFAULT_TIMEOUT_S
from core.threads import CORES

__all__ = ["LiveFrame", "LiveWorker", "SourceInfo", "to_qimage", "lower_thread_priority"]

log = logging.getLogger(__name__)

WORKER_NICE = 10                  # the loop's threads give way to the UI thread (Linux)


def lower_thread_priority(nice: int = WORKER_NICE) -> None:
    """Make the calling thread yield the CPU to the UI thread: on Linux a thread has its own nice value (the
    threads it starts, such as the frame reader, inherit it). Elsewhere, or when not allowed, nothing happens."""
    if sys.platform.startswith("linux") and hasattr(os, "setpriority"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
        except OSError:
            pass


def to_qimage(rgb: np.ndarray) -> QImage:
    """An HxWx3 uint8 RGB array -> a QImage that owns its pixels, in the format painting wants (RGB32)."""
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return image.convertToFormat(QImage.Format.Format_RGB32)   # a copy: safe after rgb is gone


@dataclass
class LiveFrame:
    """One processed frame, ready to show: the player's PlayerFrame with its picture as a QImage."""

    result: FrameResult
    image: QImage
    processed: int
    fps: float
    dropped_total: int
    frame_count: int | None
    exits: tuple[str, ...]
    refreshed: bool = False
    loop_pass: int = 1
    dropped_in_pass: int = 0
    share: ExitShare | None = None
    refining: bool = False        # anytime mode: an earlier exit's answer; the frame's deeper ones follow
    measured_speedup: float | None = None   # side by side: full / configuration, measured on the same frames
    deadline: DeadlineTally | None = None    # deadline mode: the deadline's counts so far


class _Thread(QThread):
    def __init__(self, worker: "LiveWorker") -> None:
        super().__init__()
        self._worker = worker

    def run(self) -> None:
        lower_thread_priority()
        self._worker._run()


class LiveWorker(QObject):
    """Plays one source through the model until stopped, the source ends, or it fails."""

    opened = Signal(object)             # SourceInfo
    frame_ready = Signal()              # take() has a frame
    message = Signal(str)               # progress ("Connecting to ...", "Preparing ...")
    failed = Signal(str)                # one line; the loop has stopped
    ended = Signal(str)                 # the file or folder ended (no loop)
    recording_started = Signal(str)     # path
    recording_saved = Signal(str, int)  # path, frames
    recording_failed = Signal(str)      # one line
    finished = Signal()                 # the thread is done (after any of the above)

    def __init__(self, net, spec: str, kind: str | None = None, *, config: ExitConfig | None = None,
                 loop: bool = True, realtime: bool = True, opacity: float = 0.5, compare_full: bool = False,
                 paused: bool = False, box: tuple[int, int] | None = None, timeout_s: float = DEFAULT_TIMEOUT_S,
                 parent: QObject | None = None, backend: str = "torch", precision: str = "fp32",
                 overlay: str = "plain", costs=None, anytime: bool = False,
                 weights_sha256: str | None = None) -> None:
        """``costs``: the latency table of ``backend`` (a deadline decides from it; without one the player
        measures it on this worker's thread when a deadline runs, keeping it for ``weights_sha256``)."""
        super().__init__(parent)
        self.player = LivePlayer(net, spec, kind, config=config, loop=loop, realtime=realtime, opacity=opacity,
                                 compare_full=compare_full, paused=paused, box=box, timeout_s=timeout_s,
                                 backend=backend, precision=precision, cores=CORES, overlay=overlay, costs=costs,
                                 anytime=anytime, weights_sha256=weights_sha256)
        self._lock = threading.Lock()
        self._pending: LiveFrame | None = None
        self.error: str | None = None
        self._thread = _Thread(self)
        self._thread.setObjectName("mess-live")
        player = self.player
        # The controls and statistics are the player's (thread-safe).
        for name in ("set_config", "set_compare_full", "set_anytime", "set_opacity", "set_overlay", "set_box",
                     "set_loop", "set_realtime", "set_paused", "step", "start_recording", "stop_recording", "history",
                     "histogram", "reset_histogram", "summary"):
            setattr(self, name, getattr(player, name))
        self._signals = {events.Opened: lambda e: self.opened.emit(e.info),
                         events.Message: lambda e: self.message.emit(e.text),
                         events.Frame: lambda e: self._deliver(e.frame),
                         events.Ended: lambda e: self.ended.emit(e.text),
                         events.Failed: self._fail,
                         events.RecordingStarted: lambda e: self.recording_started.emit(e.path),
                         events.RecordingSaved: lambda e: self.recording_saved.emit(e.path, e.frames),
                         events.RecordingFailed: lambda e: self.recording_failed.emit(e.text)}

    # --- life cycle (UI thread) ----------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the loop to end (it finalises a recording); returns at once."""
        self.player.stop()

    def is_running(self) -> bool:
        return self._thread.isRunning()

    def wait(self, ms: int = 10_000) -> bool:
        return self._thread.wait(ms)

    # --- what the UI reads ----------------------------------------------------------------------
    net = property(lambda self: self.player.net)
    spec = property(lambda self: self.player.spec)
    timeout_s = property(lambda self: self.player.timeout_s)
    config = property(lambda self: self.player.config)
    paused = property(lambda self: self.player.paused)
    recording = property(lambda self: self.player.recording)
    version = property(lambda self: self.player.version)
    info = property(lambda self: self.player.info)
    exit_depths = property(lambda self: self.player.exit_depths)
    _runner = property(lambda self: self.player.runner)

    def take(self) -> LiveFrame | None:
        """The newest frame not yet shown (None when the UI is up to date)."""
        with self._lock:
            frame, self._pending = self._pending, None
            return frame

    # --- the player's thread ------------------------------------------------------------------
    def _run(self) -> None:
        try:
            for event in self.player.play():
                self._signals[type(event)](event)
        except Exception as exc:  # a bug or a library error: a message, never a crash
            log.error("live loop failed:\n%s", traceback.format_exc())
            self._fail(events.Failed(f"{type(exc).__name__}: {one_line(exc)}"))
        finally:
            self.finished.emit()

    def _fail(self, event: events.Failed) -> None:
        self.error = event.text
        self.failed.emit(event.text)

    def _deliver(self, frame: events.PlayerFrame) -> None:
        shown = LiveFrame(result=frame.result, image=to_qimage(frame.picture), processed=frame.processed,
                          fps=frame.fps, dropped_total=frame.dropped_total, frame_count=frame.frame_count,
                          exits=frame.exits, refreshed=frame.refreshed, loop_pass=frame.loop_pass,
                          dropped_in_pass=frame.dropped_in_pass, share=frame.share, refining=frame.refining,
                          measured_speedup=frame.measured_speedup, deadline=frame.deadline)
        with self._lock:
            replaced = self._pending is not None
            self._pending = shown
        if not replaced:                         # one signal in flight at most: the newest frame wins
            self.frame_ready.emit()

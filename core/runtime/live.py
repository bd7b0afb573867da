"""One frame at a time through an exit configuration, shared by ``mess run`` and the GUI's Live page.

    source --LatestFrameReader (thread)--> LiveRunner.process --> FrameResult --> LiveStats

The reader and ``stream``, which ties it to a runner, are video I/O: core.runtime.video.reader.
``LiveRunner`` resizes, normalises and runs one frame through an exit
configuration with real early exit; the configuration and the side-by-side
full-network run can be switched from another thread while it runs.
``LiveStats`` keeps the numbers (rolling FPS, latency percentiles, the exit histogram).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Iterator, Sequence

import cv2
import numpy as np
import torch

from core.data.transforms import Normalize, preprocess_frame
from core.device import synchronize
from core.models.network import MultiExitNet
from core.models.spec import FINAL_EXIT
from core.runtime.config import ExitConfig
from core.errors import ConfigError
from core.runtime.backends.base import RunnablePieces
from core.runtime.early_exit import EarlyExitRunner
from core.runtime.host import planar_input



# --- results and the runner ------------------------------------------------------------------

@dataclass
class FrameResult:
    """What one frame gave: the exit it took, how long it took, and its segmentation."""

    index: int  # frame number in the source (dropped frames count)
    image: np.ndarray  # HxWx3 uint8 RGB at the processing size
    labels: np.ndarray  # HxW class map (uint8; uint16 past 256 classes)
    exit_id: str
    exit_index: int  # position of the exit among the configuration's kept exits
    exit_depth: float  # (exit segment + 1) / number of segments: final = 1.0
    latency_ms: float  # resize + preprocess + model + labels, this frame
    confidence: float  # image confidence at the exit taken
    dropped: int = 0  # frames the reader dropped since the previous result
    full_labels: np.ndarray | None = None  # the full network's labels, when compare_full
    full_latency_ms: float | None = None
    refinements: list["Refinement"] | None = None  # anytime mode: every kept exit's answer, in order
    config: ExitConfig | None = None  # the configuration that ran it (one switched meanwhile runs the next frame)


@dataclass(frozen=True)
class Refinement:
    """Anytime mode: one kept exit's answer for a frame and when it was ready (ms from the frame's start)."""

    exit_id: str
    exit_index: int
    latency_ms: float
    confidence: float
    confident: bool      # whether the thresholds would have let the frame leave here


class LiveRunner:
    """Runs single RGB frames through an exit configuration (None = the full network).

    ``size`` (H, W) is the processing size: frames are resized to it (default: the model's
    input size; None there too = each frame's own size). ``device`` defaults to where the
    network's weights are; the network is put in eval mode (and moved to ``device``).
    """

    def __init__(self, net: MultiExitNet, config: ExitConfig | None = None, size: tuple[int, int] | None = None,
                 device: torch.device | str | None = None, pieces: RunnablePieces | None = None,
                 costs=None, anytime: bool = False) -> None:
        """``anytime``: every kept exit answers in turn (``refine``); ``process`` then runs to the last one."""
        # OpenCV's thread pool (resizing) only competes with torch's threads for the same cores:
        # measured on 2 cores, one OpenCV thread gives 7-12 % more frames per second end to end.
        cv2.setNumThreads(1)
        self.net = net.eval()
        self.device = torch.device(device) if device is not None else next(net.parameters()).device
        self.net.to(self.device)
        spec = net.spec
        self.size: tuple[int, int] | None = (tuple(size) if size
                                             else (tuple(spec.input_size) if spec.input_size else None))
        self.mean, self.std = tuple(spec.mean), tuple(spec.std)
        self._scale, self._offset = Normalize(self.mean, self.std).uint8_affine()
        self._label_dtype = torch.uint8 if spec.num_classes <= 256 else torch.int16
        last = len(net.segments)
        self.exit_depths: dict[str, float] = {e: (net.exit_segment(e) + 1) / last for e in net.exit_ids()}
        self._lock = threading.Lock()
        if pieces is not None and pieces.array_kind != "torch" and self.size is None:
            raise ConfigError(f"backend {pieces.backend} needs a fixed processing size: give --size HxW")
        self.pieces = pieces
        self.costs = costs                  # a latency table of these pieces: what a deadline decides from
        self._runner = EarlyExitRunner(net, config or ExitConfig.static(FINAL_EXIT), pieces, costs=costs)
        self._full = EarlyExitRunner(net, ExitConfig.static(FINAL_EXIT), pieces)
        self._compare_full = False
        self.anytime = bool(anytime)

    @property
    def backend(self) -> str:
        return self._full.pieces.backend

    @property
    def precision(self) -> str:
        return self._full.pieces.precision

    @property
    def config(self) -> ExitConfig:
        with self._lock:
            return self._runner.config

    def set_config(self, config: ExitConfig | None, prepare: bool = True) -> None:
        """Switch configuration (None = full network) from any thread; the next frame uses it.

        The configuration is checked against the model here, so a bad one raises in the caller.
        ``prepare=False`` leaves building a graph backend's new graphs to the next frame's thread.
        """
        runner = EarlyExitRunner(self.net, config or ExitConfig.static(FINAL_EXIT), self.pieces, prepare=prepare,
                                 costs=self.costs)
        with self._lock:
            self._runner = runner

    def set_pieces(self, pieces: RunnablePieces) -> None:
        """Run on other pieces of the same model (the same backend with another thread count, say) from
        the next frame, keeping the configuration; call it on the thread that runs the frames."""
        with self._lock:
            config = self._runner.config
        runner = EarlyExitRunner(self.net, config, pieces, costs=self.costs)
        full = EarlyExitRunner(self.net, ExitConfig.static(FINAL_EXIT), pieces)
        with self._lock:
            self.pieces, self._runner, self._full = pieces, runner, full

    @property
    def compare_full(self) -> bool:
        """Also run the full network on every frame (side-by-side view)."""
        with self._lock:
            return self._compare_full

    @compare_full.setter
    def compare_full(self, value: bool) -> None:
        with self._lock:
            self._compare_full = bool(value)

    def prepare(self, rgb: np.ndarray) -> np.ndarray:
        """The frame resized (INTER_AREA) to the processing size."""
        if self.size is None or rgb.shape[:2] == self.size:
            return np.ascontiguousarray(rgb)
        h, w = self.size
        return cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)

    def network_input(self, image: np.ndarray, pieces: RunnablePieces):
        """The prepared frame as ``pieces`` take it: a graph backend's 1x3xHxW float32 array (written plane
        by plane, equal values), else torch's channels-last tensor on the device."""
        if pieces.array_kind == "numpy":
            return planar_input(image, self._scale, self._offset)
        return preprocess_frame(image, self.mean, self.std).unsqueeze(0).to(self.device)

    def _labels(self, runner: EarlyExitRunner, x: torch.Tensor, spent_ms: float = 0.0):
        with torch.inference_mode():
            out = runner.run(x, spent_ms=spent_ms, labels_dtype=self._label_dtype)
            labels = out.labels[0].cpu().numpy()
        synchronize(self.device)
        return out, labels.view(np.uint16) if labels.dtype == np.int16 else labels

    def process(self, rgb: np.ndarray, index: int = 0, dropped: int = 0) -> FrameResult:
        """One HxWx3 uint8 RGB frame -> its FrameResult (in anytime mode: at the last kept exit, with every
        refinement's time)."""
        if self.anytime:
            return self.process_anytime(rgb, index=index, dropped=dropped)
        start = time.perf_counter()
        with self._lock:
            runner, compare = self._runner, self._compare_full
        image = self.prepare(rgb)
        x = self.network_input(image, runner.pieces)
        prepared = time.perf_counter()
        out, labels = self._labels(runner, x, spent_ms=(prepared - start) * 1000.0)
        done = time.perf_counter()
        result = FrameResult(
            index=index, image=image, labels=labels, exit_id=out.exit_ids[0], exit_index=out.exit_index[0],
            exit_depth=self.exit_depths[out.exit_ids[0]], latency_ms=(done - start) * 1000.0,
            confidence=float(out.confidence[0]), dropped=dropped, config=runner.config,
        )
        if compare:
            _, result.full_labels = self._labels(self._full, x)
            result.full_latency_ms = (time.perf_counter() - done + prepared - start) * 1000.0
        return result

    def refine(self, rgb: np.ndarray, index: int = 0, dropped: int = 0) -> Iterator[FrameResult]:
        """Anytime mode: a generator of the frame's FrameResult at every kept exit in depth order, each as
        soon as that exit's labels are ready (``latency_ms`` counts from the frame's start); close it to
        stop early. Each result's ``refinements`` lists the answers so far."""
        start = time.perf_counter()
        with self._lock:
            runner = self._runner
        image = self.prepare(rgb)
        x = self.network_input(image, runner.pieces)
        answers: list[Refinement] = []
        with torch.inference_mode():
            for out in runner.refinements(x):
                labels = out.labels[0].to(self._label_dtype).cpu().numpy()
                synchronize(self.device)
                latency = (time.perf_counter() - start) * 1000.0
                exit_id = out.exit_ids[0]
                answers.append(Refinement(exit_id, out.exit_index[0], latency, confidence=float(out.confidence[0]),
                                          confident=bool(out.confident[0])))
                yield FrameResult(
                    index=index, image=image, labels=labels.view(np.uint16) if labels.dtype == np.int16 else labels,
                    exit_id=exit_id, exit_index=out.exit_index[0], exit_depth=self.exit_depths[exit_id],
                    latency_ms=latency, confidence=float(out.confidence[0]), dropped=dropped,
                    refinements=list(answers), config=runner.config,
                )

    def process_anytime(self, rgb: np.ndarray, index: int = 0, dropped: int = 0) -> FrameResult:
        """Anytime mode to the last kept exit: its FrameResult, with every refinement's time in ``refinements``."""
        result = None
        for result in self.refine(rgb, index=index, dropped=dropped):
            pass
        return result

    def warmup(self, frames: int = 2) -> None:
        """Run a few blank frames (first runs allocate and pick kernels)."""
        h, w = self.size or (64, 64)
        for _ in range(frames):
            self.process(np.zeros((h, w, 3), np.uint8))


# --- statistics ------------------------------------------------------------------------------

class LiveStats:
    """Frame counts, rolling FPS, latency percentiles and the exit histogram of a run (thread-safe)."""

    def __init__(self, exits: Sequence[str] = (), window_s: float = 2.0) -> None:
        self.window_s = window_s
        self._lock = threading.Lock()
        self._histogram: dict[str, int] = {e: 0 for e in exits}
        self._latencies: list[float] = []
        self._recent: deque[float] = deque()
        self._start: float | None = None
        self._last: float | None = None
        self.dropped = 0

    def start(self, wall_time: float | None = None) -> None:
        """When the run began (its first read); default now. Otherwise the first result's start."""
        with self._lock:
            self._start = time.perf_counter() if wall_time is None else wall_time

    def add(self, result: FrameResult, wall_time: float | None = None) -> None:
        """Count one result, ready at ``wall_time`` (time.perf_counter(); default now)."""
        now = time.perf_counter() if wall_time is None else wall_time
        with self._lock:
            if self._start is None:
                self._start = now - result.latency_ms / 1000.0
            self._last = now
            self._latencies.append(result.latency_ms)
            self._histogram[result.exit_id] = self._histogram.get(result.exit_id, 0) + 1
            self.dropped += result.dropped
            self._recent.append(now)
            while self._recent and now - self._recent[0] > self.window_s:
                self._recent.popleft()

    @property
    def frames(self) -> int:
        with self._lock:
            return len(self._latencies)

    @property
    def rolling_fps(self) -> float:
        """Results per second over the last ``window_s`` seconds."""
        with self._lock:
            if len(self._recent) < 2:
                return 0.0
            span = self._recent[-1] - self._recent[0]
            return (len(self._recent) - 1) / span if span > 0 else 0.0

    def recent_latencies(self, n: int = 200) -> list[float]:
        with self._lock:
            return self._latencies[-n:]

    def exit_histogram(self) -> dict[str, int]:
        with self._lock:
            return dict(self._histogram)

    def summary(self) -> dict:
        """``{"frames", "fps", "median_latency_ms", "p95_latency_ms", "exit_histogram", "dropped", "seconds"}``.

        ``fps`` is end to end: frames / seconds from the first read to the last result.
        """
        with self._lock:
            frames = len(self._latencies)
            seconds = (self._last - self._start) if frames and self._start is not None else 0.0
            lat = np.asarray(self._latencies, dtype=np.float64)
            return {
                "frames": frames,
                "fps": float(frames / seconds) if seconds > 0 else 0.0,
                "median_latency_ms": float(np.median(lat)) if frames else 0.0,
                "p95_latency_ms": float(np.percentile(lat, 95)) if frames else 0.0,
                "exit_histogram": dict(self._histogram),
                "dropped": int(self.dropped),
                "seconds": float(seconds),
            }

"""The live player, without Qt: one source through the model until stopped, the end, or an error.

``LivePlayer.play()`` is a generator of events (``Opened``, ``Message``, ``Frame``, ``Ended``,
``Failed``, ``RecordingStarted``, ``RecordingSaved``, ``RecordingFailed``). It owns the source and
its reader (core.runtime.video.reader.LatestFrameReader keeps only the newest frame), pause, step, loop,
real-time pacing, configuration and threshold changes, the full-network comparison, drawing the
picture (core.runtime.video.live_view.compose, in an overlay style), recording and statistics, and the
cost of each exit against the full network (a latency table given, else FLOPs counted once per
model: ``core.runtime.video.exit_words``). A deadline configuration decides from the latency table
given; without one it is measured on the player's thread when the deadline first runs
(core.runtime.video.deadline_costs, with progress as Message events), and each frame carries the
deadline's tally (core.runtime.video.deadline_tally). Controls are thread-safe calls from any
thread: a setting (configuration, thresholds, loop, pacing, opacity, overlay, full-network
comparison, anytime, pause, view size) replaces the immutable ``PlayerControls`` value, and
requests (step, refresh, start or stop recording) are counted; the loop takes the value and the
requests once per frame, and applies a new configuration or comparison to the runner on its own
thread. The Live page's worker (app/live_worker.py) only runs ``play()`` on a thread and turns
events into Qt signals.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator

import numpy as np

from core.errors import MessError, SourceError
from core.models.spec import FINAL_EXIT
from core.profile.costs import CostTable, measure_costs
from core.runtime.config import ExitConfig
from core.runtime.early_exit import config_steps
from core.runtime.video.deadline_costs import measure_deadline_costs
from core.runtime.video.deadline_tally import DeadlineTally
from core.runtime.video.exit_words import ExitShare, exit_share, has_latencies
from core.runtime.live import FrameResult, LiveRunner, LiveStats
from core.runtime.video.reader import FALLBACK_FPS, LatestFrameReader
from core.runtime.video.live_view import compose
from core.runtime.video.overlay import check_style, render
from core.runtime.video.recorder import VideoRecorder
from core.runtime.video.sources import DEFAULT_TIMEOUT_S, FrameSource, open_source
from core.threads import CoreClaim, CoreShare, set_torch_threads

HISTORY = 200                     # latency points kept for the plot
RECORD_BOX = (1280, 720)          # recordings are the source's picture, at most this big
POLL_S = 0.1                      # how often a waiting loop looks at its controls
WARMUP_FRAMES = 2                 # blank frames through the model before the first real one
SPEEDUP_FRAMES = 30               # side by side: the measured speed-up is over this many latest frames
SPEEDUP_MIN_FRAMES = 5            # ... and is not claimed from fewer
RECORD_DRAWINGS = ("source", "processed")
_FLOPS_TABLES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()   # net -> {size: FLOPs-only CostTable}


def flops_table(net, size: tuple[int, int]) -> CostTable:
    """The FLOPs of every segment and head of ``net`` at ``size`` (counted once per model and size)."""
    tables = _FLOPS_TABLES.setdefault(net, {})
    if size not in tables:
        device = next(net.parameters()).device
        tables[size] = measure_costs(net, size, device, latency=False)
    return tables[size]


def _needs_costs(config: ExitConfig | None, costs: CostTable | None) -> bool:
    """Whether ``config`` is a deadline that has no latency table to decide from in ``costs``."""
    return config is not None and config.mode == "deadline" and (costs is None or not has_latencies(costs))


def one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@dataclass(frozen=True)
class PlayerControls:
    """The player's settings as one value: a control call replaces it, the loop reads it once per frame."""

    config: ExitConfig | None = None          # None: the full network (or a given runner's own configuration)
    loop: bool = True
    realtime: bool = True
    opacity: float = 0.5
    overlay: str = "plain"
    compare_full: bool = False
    anytime: bool = False
    paused: bool = False
    box: tuple[int, int] | None = None         # the view's size (width, height): pictures are drawn to fit it


@dataclass(frozen=True)
class SourceInfo:
    """What was opened: for a status line and a frame counter."""

    name: str
    kind: str
    live: bool
    fps: float | None
    frame_count: int | None


@dataclass(frozen=True)
class PlayerFrame:
    """One processed frame, drawn."""

    result: FrameResult
    picture: np.ndarray | None    # HxWx3 uint8 RGB: overlay, exit border and badge; side by side (None: draw off)
    processed: int                # frames processed in this run so far
    fps: float                    # rolling frames per second
    dropped_total: int            # frames dropped since the start of the run
    frame_count: int | None       # the source's length (file, folder), None when live or unknown
    exits: tuple[str, ...]        # the kept exits of the configuration that ran it
    refreshed: bool = False       # the paused frame run again (new thresholds, opacity...): not counted
    loop_pass: int = 1            # which pass through the source (a looped file or folder starts again: 2, 3...)
    dropped_in_pass: int = 0      # frames dropped in this pass (what the FRAME counter's pass dropped)
    share: ExitShare | None = None  # the exit taken against the full network (None: no cost table)
    refining: bool = False        # anytime mode: an earlier exit's answer; the frame's deeper ones follow
    measured_speedup: float | None = None   # side by side: full network / configuration, medians of the same frames
    deadline: DeadlineTally | None = None   # a deadline configuration ran it: the deadline's counts so far


@dataclass(frozen=True)
class Opened:
    info: SourceInfo


@dataclass(frozen=True)
class Message:
    text: str


@dataclass(frozen=True)
class Frame:
    frame: PlayerFrame


@dataclass(frozen=True)
class Ended:
    text: str


@dataclass(frozen=True)
class Failed:
    text: str


@dataclass(frozen=True)
class RecordingStarted:
    path: str


@dataclass(frozen=True)
class RecordingSaved:
    path: str
    frames: int


@dataclass(frozen=True)
class RecordingFailed:
    text: str


def _left_in(reader: LatestFrameReader):
    """The frame a closed reader still holds (read, not yet taken), or None."""
    try:
        return reader.get(timeout=0)
    except TimeoutError:
        return None


class LivePlayer:
    """Plays one source through ``net``; ``play()`` yields the events (see the module docstring)."""

    def __init__(self, net, spec: str, kind: str | None = None, *, config: ExitConfig | None = None,
                 loop: bool = True, realtime: bool = True, opacity: float = 0.5, compare_full: bool = False,
                 paused: bool = False, box: tuple[int, int] | None = None, timeout_s: float = DEFAULT_TIMEOUT_S,
                 backend: str = "torch", precision: str = "fp32", runner: LiveRunner | None = None,
                 max_frames: int | None = None, draw: bool = True, record_drawing: str = "source",
                 cores: CoreShare | None = None, overlay: str = "plain", costs: CostTable | None = None,
                 anytime: bool = False, weights_sha256: str | None = None) -> None:
        """``runner``: a LiveRunner made by the caller (its size, device and backend), else one is made on
        ``backend``; ``max_frames``: stop after that many; ``draw``: compose each frame's picture (False:
        Frame events carry none, for a player without a window); ``record_drawing``: what a recording
        shows, "source" (the source's picture at most RECORD_BOX, as the Live page does) or "processed"
        (the annotated frame at the processing size, as `mess run --out` does); ``cores``: a share of the
        process's cores to claim while playing (the app's, split with a training job), followed between
        frames; None leaves the thread counts as they are; ``overlay``: the overlay style
        (core.runtime.video.overlay.OVERLAY_STYLES); ``costs``: a latency table of ``backend`` to state each exit's
        share of the network from (else, when drawing, FLOPs counted at the processing size) and that a deadline
        decides from (else measured when a deadline first runs, and kept in core.profile.cache.COST_CACHE when
        ``weights_sha256`` says whose weights these are)."""
        if record_drawing not in RECORD_DRAWINGS:
            raise ValueError(f"record_drawing must be one of {RECORD_DRAWINGS}, got {record_drawing!r}")
        self.net = net
        self._given_costs = costs
        self._weights_sha256 = weights_sha256
        self._tally: DeadlineTally | None = None
        self.cost_table: CostTable | None = None
        self._pass = 1
        self._pass_dropped_base = 0
        self._given_runner = runner
        self.max_frames = max_frames
        self.draw = draw
        self.record_drawing = record_drawing
        self.backend, self.precision = backend, precision
        self.spec = str(spec)
        self.kind = kind
        self.timeout_s = timeout_s
        self.palette = net.spec.classes
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._controls = PlayerControls(config=config, loop=bool(loop), realtime=bool(realtime),
                                        opacity=float(opacity), overlay=check_style(overlay),
                                        compare_full=bool(compare_full), anytime=bool(anytime),
                                        paused=bool(paused), box=box)
        self._applied_config: ExitConfig | None = None   # what the runner runs (the player's thread only)
        self._steps = 0
        self._refresh: str | None = None          # None, "draw" (compose again) or "process" (run the model again)
        self._record_path: str | None = None       # a recording asked for, opened at the next frame
        self._record_stop = False
        self._recorder: VideoRecorder | None = None
        self._outbox: list = []                    # events made by the steps of one pass, yielded after it
        self.runner: LiveRunner | None = None
        self._cores = cores
        self._claim: CoreClaim | None = None
        self._cores_version = -1
        self.threads: int | None = None            # the threads the model runs with, when a share decides
        self._stats = LiveStats()
        self._histogram = LiveStats()
        self._history: deque[tuple[int, float, float, float]] = deque(maxlen=HISTORY)
        self._version = 0
        self._last: tuple[np.ndarray, int, FrameResult] | None = None   # the newest frame, for a paused refresh
        self.exit_depths: dict[str, float] = {}
        self.info: SourceInfo | None = None
        self.error: str | None = None

    # --- controls (any thread) -------------------------------------------------------------------
    def stop(self) -> None:
        """Ask the loop to end (it finalises a recording); returns at once."""
        self._stop.set()
        self._wake.set()

    @property
    def controls(self) -> PlayerControls:
        """The settings now (the loop takes them at its next frame)."""
        with self._lock:
            return self._controls

    def _change(self, refresh: str | None = None, **settings) -> None:
        """A new controls value with ``settings`` changed; ``refresh``: what a paused frame needs again."""
        with self._lock:
            self._controls = replace(self._controls, **settings)
            if refresh is not None and self._controls.paused and self._refresh != "process":
                self._refresh = refresh
        self._wake.set()

    @property
    def config(self) -> ExitConfig | None:
        return self.controls.config

    def set_config(self, config: ExitConfig | None) -> None:
        """Run ``config`` (None = the full network) from the next frame; ConfigError here when it does not fit.

        Checked against the model here, in the caller; the player's thread switches the runner to it
        (building a graph backend's new graphs) at the next frame, after measuring the latency table
        first when it is a deadline and there is none."""
        if config is not None:
            config_steps(self.net, config)
        self._change(refresh="process", config=config)

    def set_anytime(self, on: bool) -> None:
        """Anytime mode: each frame's kept exits answer in turn, each picture handed over as soon as that
        exit is ready (Frame events with ``refining`` until the last); off: early exit."""
        self._change(anytime=bool(on))

    @property
    def anytime(self) -> bool:
        return self.controls.anytime

    def set_compare_full(self, on: bool) -> None:
        self._change(refresh="process", compare_full=bool(on))

    def set_opacity(self, opacity: float) -> None:
        self._change(refresh="draw", opacity=float(opacity))

    def set_overlay(self, style: str) -> None:
        """The overlay style from the next picture (ValueError for an unknown one)."""
        self._change(refresh="draw", overlay=check_style(style))

    def set_box(self, box: tuple[int, int] | None) -> None:
        """The view's size (width, height) in device pixels: pictures are drawn to fit it."""
        self._change(refresh="draw", box=box)

    def set_loop(self, on: bool) -> None:
        self._change(loop=bool(on))

    def set_realtime(self, on: bool) -> None:
        self._change(realtime=bool(on))

    def set_paused(self, paused: bool) -> None:
        self._change(paused=bool(paused))

    @property
    def paused(self) -> bool:
        return self.controls.paused

    def step(self) -> None:
        """While paused: read and process one more frame."""
        with self._lock:
            self._steps += 1
        self._wake.set()

    def start_recording(self, path: str | Path) -> None:
        """Record the annotated frames to ``path`` from the next frame (RecordingStarted or -Failed follows)."""
        with self._lock:
            self._record_path = str(path)
            self._record_stop = False
        self._wake.set()

    def stop_recording(self) -> None:
        """Finish the recording (RecordingSaved follows)."""
        with self._lock:
            self._record_path = None
            self._record_stop = True
        self._wake.set()

    @property
    def recording(self) -> bool:
        with self._lock:
            return self._recorder is not None or self._record_path is not None

    # --- statistics (any thread) ----------------------------------------------------------------
    @property
    def version(self) -> int:
        """Grows with every counted frame (plots redraw only when it changed)."""
        with self._lock:
            return self._version

    def history(self) -> list[tuple[int, float, float, float]]:
        """The last frames as (processed number, latency ms, exit depth, full-network latency ms or NaN)."""
        with self._lock:
            return list(self._history)

    def histogram(self) -> dict[str, int]:
        return self._histogram.exit_histogram()

    def reset_histogram(self) -> None:
        """The exit histogram and a deadline's counts start again from zero."""
        with self._lock:
            exits = self._controls.config.exits if self._controls.config is not None else [FINAL_EXIT]
            self._histogram = LiveStats(exits=exits)
            self._tally = None
            self._version += 1

    def summary(self) -> dict:
        return self._stats.summary()

    # --- the loop (the player's thread) --------------------------------------------------------------
    def _make_runner(self, config: ExitConfig | None, costs: CostTable | None) -> Iterator:
        """Job: the model on the chosen backend (graph backends need the model's fixed input size), deciding
        a deadline from ``costs``."""
        size = tuple(self.net.spec.input_size) if self.net.spec.input_size else None
        self._take_share()
        if self.backend == "torch" or size is None:
            if self.backend != "torch":
                yield Message(f"This model has no fixed input size: running on torch, not {self.backend}.")
            return LiveRunner(self.net, config, costs=costs)
        yield Message(f"Preparing the {self.backend} graphs...")
        return LiveRunner(self.net, config, pieces=self._graph_pieces(size), costs=costs)

    def _measure_costs(self) -> Iterator:
        """Job: the latency table a deadline decides from, measured here with progress (None: stopped)."""
        table = yield from measure_deadline_costs(self.net, weights_sha256=self._weights_sha256, backend=self.backend,
                                                  precision=self.precision, stop=self._stop, event=Message)
        if table is not None:
            yield Message(f"Latency table measured on {table.backend} {table.precision}: the deadline decides "
                          "from it.")
        return table

    def _apply(self, runner: LiveRunner, controls: PlayerControls) -> Iterator:
        """Between frames, on the player's thread: the runner takes the controls' configuration (a deadline
        without a latency table waits until the table is measured here, the frames with it) and their
        full-network comparison."""
        if controls.config is not self._applied_config:
            if _needs_costs(controls.config, runner.costs):
                table = yield from self._measure_costs()
                if table is None:                  # stopped while measuring
                    return
                runner.costs = table
                self.cost_table = table
            runner.set_config(controls.config, prepare=False)
            self._applied_config = controls.config
        if runner.compare_full != controls.compare_full:
            runner.compare_full = controls.compare_full

    def _graph_pieces(self, size: tuple[int, int]):
        from core.runtime.backends import make_pieces

        return make_pieces(self.net, size, self.backend, precision=self.precision, threads=self.threads)

    def _take_share(self) -> bool:
        """Follow the share of the cores: returns whether the thread count changed (torch's threads of
        this thread are set here; graph pieces are the caller's to rebuild)."""
        if self._claim is None:
            return False
        self._cores_version = self._cores.version
        threads = self._claim.threads
        if threads == self.threads:
            return False
        self.threads = threads
        set_torch_threads(threads)
        return True

    def _follow_share(self, runner: LiveRunner) -> None:
        """Between frames: when a job started or ended beside the live view, use the new share."""
        if self._claim is None or self._cores.version == self._cores_version or self._given_runner is not None:
            return
        if self._take_share() and runner.pieces is not None and runner.size is not None:
            self._outbox.append(Message(f"Using {self.threads} thread{'s' * (self.threads != 1)} "
                                        f"(the cores are shared with {', '.join(self._others())})"
                                        if self._others() else f"Using {self.threads} threads"))
            runner.set_pieces(self._graph_pieces(runner.size))

    def _others(self) -> list[str]:
        return [job for job in self._cores.jobs() if job != "live"]

    def play(self) -> Iterator:
        """The events of playing the source, until stop, the end or an error (then ``Failed``)."""
        source: FrameSource | None = None
        reader: LatestFrameReader | None = None
        try:
            live_kind = (self.kind or "") in ("webcam", "rtsp")
            yield Message(f"Connecting to {self.spec}... (up to {self.timeout_s:g} s)" if live_kind
                          else f"Opening {self.spec}...")
            source = open_source(self.spec, self.kind, self.timeout_s)
            if self._stop.is_set():
                return
            if self._cores is not None and self._given_runner is None:
                self._claim = self._cores.claim("live")
            config = self.controls.config
            if self._given_runner is not None:
                runner = self._given_runner
            else:
                costs = self._given_costs if self._given_costs is not None and has_latencies(self._given_costs) \
                    else None
                if _needs_costs(config, costs):
                    costs = yield from self._measure_costs()
                    if costs is None:
                        return
                runner = yield from self._make_runner(config, costs)   # (not under the lock: controls never wait)
            # What the runner runs: the configuration it was made with (one set meanwhile is applied by the
            # loop's first _apply); a given runner keeps its own until a configuration is set.
            self._applied_config = config if self._given_runner is None else self.controls.config
            runner.compare_full = self.controls.compare_full
            with self._lock:
                self.runner = runner
                self._stats = LiveStats(exits=runner.config.exits)
                self._histogram = LiveStats(exits=runner.config.exits)
            runner.warmup(WARMUP_FRAMES)           # the first runs allocate: not the latency of a frame
            self.exit_depths = dict(runner.exit_depths)
            self.cost_table = self._exit_costs(runner)
            self.info = SourceInfo(source.name, source.kind, source.live, fps=source.fps,
                                   frame_count=source.frame_count)
            yield Opened(self.info)
            opened = yield from self._loop_frames(source, runner)
            source, reader = opened
        except MessError as exc:
            yield from self._drain()
            yield self._fail(one_line(exc))
        finally:
            if self._claim is not None:
                self._claim.release()
                self._claim = None
            if reader is not None:
                reader.close()
            self._finish_recording()
            if source is not None:
                source.close()
        yield from self._drain()

    def _exit_costs(self, runner: LiveRunner) -> CostTable | None:
        """The table exits are worded by: the one given, the runner's measured one, else FLOPs (when drawing)."""
        for table in (self._given_costs, runner.costs):
            if table is not None and has_latencies(table):
                return table
        if not self.draw or runner.size is None:
            return None
        return flops_table(self.net, tuple(runner.size))

    def _drain(self) -> Iterator:
        yield from self.take_events()

    def take_events(self) -> list:
        """The events made but not yet yielded (what a play() closed early, by Ctrl-C, still had)."""
        events, self._outbox = self._outbox, []
        return events

    def _fail(self, message: str) -> Failed:
        self.error = message
        return Failed(message)

    def _loop_frames(self, source: FrameSource, runner: LiveRunner) -> Iterator:
        """Until stop, the end, or an error; returns what is still open, for play() to close.

        Pausing keeps the reader (it waits, or for a live source keeps only the newest frame), except for a
        file played in real time, whose reader is closed so that playing goes on where it paused; the frame
        it had read is held for the next step or for playing on.
        """
        reader: LatestFrameReader | None = None
        base = 0                        # index (in this pass through the source) of the reader's first frame
        next_index = 0                  # index of the next frame not yet read from the source
        held: tuple[int, np.ndarray] | None = None
        reader_realtime = False         # the pacing the open reader was made with
        self._stats.start()
        while not self._stop.is_set():
            self._follow_share(runner)
            with self._lock:            # the frame's controls: one value, and the requests so far
                controls, steps, refresh = self._controls, self._steps, self._refresh
            yield from self._apply(runner, controls)
            yield from self._drain()
            self._service_recording()
            paused = controls.paused
            stale = reader is not None and controls.realtime != reader_realtime
            if reader is not None and (stale or (paused and reader.pace is not None)):
                reader.close()
                next_index = base + reader.frames_read
                frame = _left_in(reader)
                if frame is not None:
                    held = (base + frame.index, frame.image)
                reader = None
            if paused and not steps:
                if refresh and self._last is not None:
                    with self._lock:
                        self._refresh = None
                    self._redo(runner, refresh, controls)
                else:
                    self._wake.wait(POLL_S)
                    self._wake.clear()
                continue
            if held is not None:
                index, image = held
                held = None
                self._took_step(paused)
                yield from self._handle(runner, image, index, dropped=0, controls=controls)
                continue
            if reader is None and paused:             # a step with the reader closed: read it here
                image = source.read()
                if image is None:
                    source, next_index, again = self._at_end(source, next_index, loop=controls.loop)
                    if not again:
                        return source, None
                    continue
                self._took_step(paused)
                yield from self._handle(runner, image, next_index, dropped=0, controls=controls)
                next_index += 1
                continue
            if reader is None:
                reader_realtime = controls.realtime
                reader = LatestFrameReader(source, realtime=reader_realtime)
                base = next_index
            try:
                frame = reader.get(timeout=POLL_S)
            except TimeoutError:
                continue
            if frame is None:
                next_index = base + reader.frames_read
                reader.close()
                reader = None
                source, next_index, again = self._at_end(source, next_index, loop=controls.loop)
                if not again:
                    return source, None
                continue
            next_index = base + frame.index + 1
            self._took_step(paused)
            yield from self._handle(runner, frame.image, base + frame.index, dropped=frame.dropped,
                                    controls=controls)
        return source, reader

    def _took_step(self, paused: bool) -> None:
        if paused:
            with self._lock:
                self._steps = max(0, self._steps - 1)
                self._refresh = None

    def _at_end(self, source: FrameSource, read: int, loop: bool) -> tuple[FrameSource, int, bool]:
        """The end of a file or folder after ``read`` frames of this pass: open it again (``loop``) or stop.

        Returns (the source, the next frame's index, whether to go on)."""
        if not loop or source.live or self._stop.is_set():
            what = "folder" if source.kind == "folder" else "video"
            self._outbox.append(Ended(f"{source.name}: end of the {what}" if read else
                                      f"{source.name}: no frame to play"))
            return source, read, False
        if read == 0:                            # a pass without a frame: looping would spin
            raise SourceError(f"{source.name}: no frame could be read")
        source.close()
        source = open_source(self.spec, self.kind, self.timeout_s)
        self._pass += 1
        self._pass_dropped_base = self._stats.dropped
        return source, 0, True

    def _refines(self, runner: LiveRunner, controls: PlayerControls) -> bool:
        config = runner.config
        return controls.anytime and len(config.exits) > 1 and config.mode != "deadline" and not runner.compare_full

    def _handle(self, runner: LiveRunner, image: np.ndarray, index: int, dropped: int,
                controls: PlayerControls) -> Iterator:
        """Process one new frame: count it, record it, draw it, hand it over (in anytime mode, each
        earlier exit's picture is handed over first, as soon as it is ready, and not counted)."""
        if self._refines(runner, controls):
            last = len(runner.config.exits)
            for result in runner.refine(image, index=index, dropped=dropped):
                if len(result.refinements) < last:
                    self._deliver(image, result, runner, refreshed=False, controls=controls, refining=True)
                    yield from self._drain()
        else:
            result = runner.process(image, index=index, dropped=dropped)
        now = time.perf_counter()
        self._stats.add(result, now)
        with self._lock:
            histogram = self._histogram
        histogram.add(result, now)
        tally = self._deadline_tally(result.config or runner.config)
        if tally is not None:
            with self._lock:
                self._tally = tally.add(result.latency_ms, result.exit_depth)
        self._write_recording(image, result, controls)
        with self._lock:
            self._history.append((self._stats.frames, result.latency_ms, result.exit_depth,
                                  result.full_latency_ms if result.full_latency_ms is not None else float("nan")))
            self._version += 1
        self._last = (image, index, result)
        self._deliver(image, result, runner, refreshed=False, controls=controls)
        if self.max_frames is not None and self._stats.frames >= self.max_frames:
            self._stop.set()

    def _redo(self, runner: LiveRunner, refresh: str, controls: PlayerControls) -> None:
        """The paused frame again: run the model again (new configuration) or only draw it again."""
        image, index, result = self._last
        if refresh == "process":
            result = runner.process(image, index=index, dropped=result.dropped)
            self._last = (image, index, result)
        self._deliver(image, result, runner, refreshed=True, controls=controls)

    def _deadline_tally(self, config: ExitConfig) -> DeadlineTally | None:
        """The counts of ``config``'s deadline (a new tally when the deadline or its exits changed); None
        for another mode."""
        if config.mode != "deadline":
            return None
        with self._lock:
            if self._tally is None or not self._tally.counts(config):
                self._tally = DeadlineTally.of(config)
            return self._tally

    def _deliver(self, image: np.ndarray, result: FrameResult, runner: LiveRunner, refreshed: bool,
                 controls: PlayerControls, refining: bool = False) -> None:
        picture = compose(image, result, self.palette, opacity=controls.opacity, box=controls.box,
                          style=controls.overlay) if self.draw else None
        config = result.config or runner.config          # what ran the frame, not one set since
        exits = tuple(config.exits)
        self._outbox.append(Frame(PlayerFrame(
            result=result, picture=picture, processed=self._stats.frames, fps=self._stats.rolling_fps,
            dropped_total=self._stats.dropped, frame_count=self.info.frame_count if self.info else None,
            exits=exits, refreshed=refreshed, loop_pass=self._pass,
            dropped_in_pass=self._stats.dropped - self._pass_dropped_base,
            share=exit_share(self.net, self.cost_table, exits, taken=result.exit_index), refining=refining,
            measured_speedup=self.measured_speedup() if result.full_latency_ms is not None else None,
            deadline=self._deadline_tally(config))))

    def measured_speedup(self, frames: int = SPEEDUP_FRAMES) -> float | None:
        """Side by side: the full network's median latency over the configuration's, both measured on the same
        latest ``frames`` frames in this loop (None before SPEEDUP_MIN_FRAMES such frames)."""
        with self._lock:
            pairs = [(latency, full) for _, latency, _, full in list(self._history)[-frames:] if full == full]
        if len(pairs) < SPEEDUP_MIN_FRAMES:
            return None
        early = float(np.median([p[0] for p in pairs]))
        return float(np.median([p[1] for p in pairs])) / early if early > 0 else None

    # --- recording (the player's thread) ------------------------------------------------------------
    def _service_recording(self) -> None:
        with self._lock:
            stop, self._record_stop = self._record_stop, False
        if stop:
            self._finish_recording()

    def _write_recording(self, image: np.ndarray, result: FrameResult, controls: PlayerControls) -> None:
        opacity, style = controls.opacity, controls.overlay
        with self._lock:
            path = self._record_path
        alone = replace(result, full_labels=None, full_latency_ms=None)     # the early-exit picture only
        if path is not None and self._recorder is None:
            with self._lock:
                self._record_path = None
            picture = self._recording_picture(image, alone, opacity, box=None, style=style)
            fps = (self.info.fps if self.info else None) or FALLBACK_FPS
            try:
                recorder = VideoRecorder(path, fps, picture.shape[:2])
            except MessError as exc:
                self._outbox.append(RecordingFailed(one_line(exc)))
                return
            with self._lock:
                self._recorder = recorder
            self._outbox.append(RecordingStarted(str(recorder.path)))
        recorder = self._recorder
        if recorder is None:
            return
        h, w = recorder.size
        picture = self._recording_picture(image, alone, opacity, box=(w, h), style=style)
        try:
            for _ in range(1 + result.dropped):  # dropped frames: hold the picture, keep real time (as mess run)
                recorder.write(picture)
        except MessError as exc:
            self._outbox.append(RecordingFailed(one_line(exc)))
            self._abort_recording()

    def _recording_picture(self, image: np.ndarray, result: FrameResult, opacity: float,
                           box: tuple[int, int] | None, style: str = "plain") -> np.ndarray:
        """A recorded frame: the source's picture fitted to ``box`` (first: to RECORD_BOX), or the
        annotated frame at the processing size."""
        if self.record_drawing == "processed":
            return render(result, self.palette, opacity, style=style)
        if box is None:
            box = (min(image.shape[1], RECORD_BOX[0]), min(image.shape[0], RECORD_BOX[1]))
        return compose(image, result, self.palette, opacity=opacity, box=box, style=style)

    def _finish_recording(self) -> None:
        with self._lock:
            recorder, self._recorder = self._recorder, None
            self._record_path = None
        if recorder is None:
            return
        frames = recorder.frames
        try:
            path = recorder.close()
        except MessError as exc:
            self._outbox.append(RecordingFailed(one_line(exc)))
            return
        if path is None:
            self._outbox.append(RecordingFailed(f"{recorder.path}: nothing recorded (no frame came)"))
        else:
            self._outbox.append(RecordingSaved(str(path), frames))

    def abort_recording(self) -> None:
        """Stop recording and delete what was recorded (a run that failed keeps no half video)."""
        with self._lock:
            self._record_path = None
        self._abort_recording()

    def _abort_recording(self) -> None:
        with self._lock:
            recorder, self._recorder = self._recorder, None
        if recorder is not None:
            recorder.abort()

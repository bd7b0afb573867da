"""The Live page: a video source through the open model with real early exit, frame by frame.

A face over core.runtime (the `mess run` command's pipeline): the source chooser
opens a webcam, file, folder or stream; app.live_worker.LiveWorker runs the loop on
its own thread (decoding, the model, drawing, recording) and hands over only the
newest frame; the page shows it with the exit taken, latency, FPS, confidence and
dropped frames in large type, a rolling latency plot and an exit histogram (redrawn
on a timer, at most ~15 times a second). The thresholds, the full network, the side
by side view and the overlay opacity change while it plays. F5 is presentation mode:
full screen, only the frame and the readouts.
"""

from __future__ import annotations

import gc
import time
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QCheckBox, QGroupBox, QHBoxLayout, QLabel, QMainWindow, QPushButton, QScrollArea,
                               QSlider, QSplitter, QVBoxLayout, QWidget)

from app.live_worker import LiveFrame, LiveWorker, SourceInfo
from app.pages import PAGES, Page, PageEntry
from app.widgets.class_legend import ClassLegend
from app.widgets.folder_field import FolderField
from app.widgets.frame_view import FrameView
from app.widgets.live_plots import ExitHistogram, LatencyPlot
from app.widgets.live_readouts import LiveReadouts
from app.widgets.source_chooser import SourceChooser
from app.widgets.threshold_sliders import ThresholdSliders
from core.errors import ConfigError
from core.models.spec import FINAL_EXIT
from core.runtime.config import ExitConfig
from core.runtime.live_view import describe_exits, exit_depths, uniform_thresholds, with_thresholds
from core.runtime.overlay import exit_colour, legend, short_exit_name

PLOT_FPS = 15                     # plot redraws per second, at most
SHUTDOWN_WAIT_MS = 10_000         # a source still connecting answers within its 5 s timeout
PRESENTATION_SCALE = 2.0         # readouts at most this much bigger in presentation mode
HINT = "Choose a source above and press Start (Ctrl+Return) or Space"
_ORPHANS: list[LiveWorker] = []   # workers that outlived shutdown's wait: kept alive until their thread ends


def freeze_long_lived_objects() -> None:
    """Put every object alive now out of the cyclic garbage collector's reach (gc.freeze).

    A full collection walks the whole heap (torch, Qt and pyqtgraph objects: about a million) holding the
    GIL, 0.3 s on a slow machine: the UI and the video freeze meanwhile. What is alive when a loop starts
    (the model, the widgets) lives long anyway; objects made later are collected as usual."""
    gc.freeze()


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#%02x%02x%02x" % rgb


def default_record_dir() -> str:
    videos = Path.home() / "Videos"
    return str(videos if videos.is_dir() else Path.home())


class LivePage(Page):
    """Source bar on top; the frame and its readouts; configuration, overlay, plots and recording at the side."""

    title = "Live"

    def __init__(self, state, settings, parent: QWidget | None = None) -> None:
        super().__init__(state, settings, parent)
        self._worker: LiveWorker | None = None
        self._retired: list[LiveWorker] = []
        self._base_config: ExitConfig | None = state.config        # as applied from the Search page
        self._config: ExitConfig | None = state.config             # with the sliders' thresholds
        self._depths: dict[str, float] = {}
        self._exits_shown: tuple[str, ...] = ()
        self._drawn_version = -1
        self._presenting = False
        self._hidden_chrome: list[QWidget] = []
        self._window_hooked = False
        self.last_frame: LiveFrame | None = None
        self.source_info: SourceInfo | None = None
        self.last_recording: str | None = None
        self._build()
        self._build_shortcuts()
        self._restore()
        state.config_changed.connect(self._on_config_changed)
        state.model_changed.connect(self._on_model_changed)
        state.backend_changed.connect(self._on_backend_changed)
        self._plot_timer = QTimer(self)
        self._plot_timer.setInterval(int(1000 / PLOT_FPS))
        self._plot_timer.timeout.connect(self.redraw_plots)
        self._plot_timer.start()
        self._model_ready()
        self._show_config()
        self._update_buttons()

    # --- layout -------------------------------------------------------------------------------
    def _build(self) -> None:
        self.controls_bar = self._build_source_bar()
        self.view = FrameView(HINT, self)
        self.view.setObjectName("live-frame")
        self.view.resized.connect(self._on_view_resized)
        self.readouts = LiveReadouts(parent=self)
        centre = QWidget(self)
        centre_layout = QVBoxLayout(centre)
        centre_layout.setContentsMargins(0, 0, 0, 0)
        centre_layout.addWidget(self.view, 1)
        centre_layout.addWidget(self.readouts)

        panel = QWidget(self)
        column = QVBoxLayout(panel)
        column.addWidget(self._build_config_box())
        column.addWidget(self._build_overlay_box())
        column.addWidget(self._build_plots_box(), 1)
        column.addWidget(self._build_record_box())
        self.side_panel = QScrollArea(self)
        self.side_panel.setWidget(panel)
        self.side_panel.setWidgetResizable(True)
        self.side_panel.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.side_panel.setMinimumWidth(340)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(centre)
        self.splitter.addWidget(self.side_panel)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([900, 380])

        self.bottom_bar = QWidget(self)
        bottom = QHBoxLayout(self.bottom_bar)
        bottom.setContentsMargins(0, 0, 0, 0)
        self.status = QLabel("", self)
        self.status.setObjectName("live-status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.present_button = QPushButton("Presentation", self)
        self.present_button.setCheckable(True)
        self.present_button.setToolTip("Full screen with only the frame and the big readouts — F5 (Esc or F5 leaves)")
        self.present_button.toggled.connect(self.set_presentation)
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.present_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.controls_bar)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.bottom_bar)

    def _build_source_bar(self) -> QWidget:
        bar = QWidget(self)
        row = QHBoxLayout(bar)
        row.setContentsMargins(0, 0, 0, 0)
        self.source = SourceChooser(bar)
        self.source.changed.connect(self._on_source_changed)
        self.start_button = QPushButton("Start", bar)
        self.start_button.setToolTip("Play the source through the model, or stop — Ctrl+Return")
        self.start_button.setShortcut(QKeySequence("Ctrl+Return"))
        self.start_button.clicked.connect(self.start_or_stop)
        self.start_button.setMinimumWidth(80)
        self.pause_button = QPushButton("Pause", bar)
        self.pause_button.setCheckable(True)
        self.pause_button.setToolTip("Pause or play — Space")
        self.pause_button.toggled.connect(self.set_paused)
        self.step_button = QPushButton("Step", bar)
        self.step_button.setToolTip("While paused: process the next frame — . (full stop)")
        self.step_button.clicked.connect(self.step)
        self.loop_check = QCheckBox("Loop", bar)
        self.loop_check.setToolTip("Start a video file or image folder again at its end")
        self.loop_check.toggled.connect(lambda on: self._worker and self._worker.set_loop(on))
        self.realtime_check = QCheckBox("Real time", bar)
        self.realtime_check.setToolTip("Play a file or folder at its own speed, dropping the frames the model "
                                       "cannot keep up with (off: every frame, as fast as the model goes)")
        self.realtime_check.toggled.connect(lambda on: self._worker and self._worker.set_realtime(on))
        self.record_button = QPushButton("Record", bar)
        self.record_button.setCheckable(True)
        self.record_button.setToolTip("Record the annotated frames to an .mp4 in the recordings folder (side "
                                      "panel); press again, or Stop, to finish the file — Ctrl+R")
        self.record_button.setShortcut(QKeySequence("Ctrl+R"))
        self.record_button.toggled.connect(self._on_record_toggled)
        self.record_button.setMinimumWidth(80)
        self.inspect_button = QPushButton("Inspect", bar)
        self.inspect_button.setToolTip("Inspect this frame: every exit's labels and confidence on the Inspect page — I")
        self.inspect_button.clicked.connect(self.inspect_frame)
        row.addWidget(QLabel("Source:", bar))
        row.addWidget(self.source, 1)
        for widget in (self.start_button, self.pause_button, self.step_button, self.loop_check, self.realtime_check,
                       self.record_button, self.inspect_button):
            row.addWidget(widget)
        return bar

    def inspect_frame(self) -> bool:
        """Hand the frame on screen (at the processing size) to the Inspect page."""
        if self.last_frame is None:
            self.show_message("No frame yet: start the source, then Inspect shows its current frame.")
            return False
        result = self.last_frame.result
        self.state.inspect_requested.emit(result.image, f"live frame {result.index}")
        return True

    def _build_config_box(self) -> QGroupBox:
        box = QGroupBox("Exit configuration", self)
        layout = QVBoxLayout(box)
        self.config_label = QLabel("", box)
        self.config_label.setObjectName("live-config")
        self.config_label.setWordWrap(True)
        self.config_label.setTextFormat(Qt.TextFormat.RichText)
        self.config_label.setToolTip("The exits the frames may leave at, shallow to deep, in their colours; "
                                     "choose one on the Search page and 'Apply to Live'")
        layout.addWidget(self.config_label)
        row = QHBoxLayout()
        self.full_button = QPushButton("Full network", box)
        self.full_button.setCheckable(True)
        self.full_button.setToolTip("Run the whole network on every frame (no early exit), to compare — F")
        self.full_button.setShortcut(QKeySequence("F"))
        self.full_button.toggled.connect(self._on_full_toggled)
        self.side_button = QPushButton("Side by side", box)
        self.side_button.setCheckable(True)
        self.side_button.setToolTip("Also run the full network on every frame and show it on the right, "
                                    "with both latencies — B")
        self.side_button.setShortcut(QKeySequence("B"))
        self.side_button.toggled.connect(self._on_side_toggled)
        row.addWidget(self.full_button)
        row.addWidget(self.side_button)
        layout.addLayout(row)
        self.sliders = ThresholdSliders(box)
        self.sliders.changed.connect(self._on_thresholds)
        layout.addWidget(self.sliders)
        self.threshold_note = QLabel("", box)
        self.threshold_note.setWordWrap(True)
        self.threshold_note.setStyleSheet("color: #6b7280;")
        layout.addWidget(self.threshold_note)
        return box

    def _build_overlay_box(self) -> QGroupBox:
        box = QGroupBox("Overlay", self)
        layout = QVBoxLayout(box)
        row = QHBoxLayout()
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal, box)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setToolTip("How strongly the class colours cover the frame (0 %: the video only)")
        self.opacity_label = QLabel("50 %", box)
        self.opacity_label.setMinimumWidth(40)
        self.opacity_slider.valueChanged.connect(self._on_opacity)
        row.addWidget(QLabel("Opacity", box))
        row.addWidget(self.opacity_slider, 1)
        row.addWidget(self.opacity_label)
        layout.addLayout(row)
        self.legend = ClassLegend(columns=2, parent=box)
        layout.addWidget(self.legend, 0, Qt.AlignmentFlag.AlignLeft)
        return box

    def _build_plots_box(self) -> QGroupBox:
        box = QGroupBox("Latency and exits", self)
        layout = QVBoxLayout(box)
        self.latency_plot = LatencyPlot(box)
        self.latency_plot.setMinimumHeight(130)
        self.latency_plot.setToolTip("Latency of the last 200 frames, each point in its exit's colour; "
                                     "dashed grey: the full network (side by side)")
        layout.addWidget(self.latency_plot, 1)
        self.histogram = ExitHistogram(box)
        self.histogram.setMinimumHeight(130)
        self.histogram.setToolTip("Frames that left at each kept exit since the start (or the last reset)")
        layout.addWidget(self.histogram, 1)
        self.reset_button = QPushButton("Reset counts", box)
        self.reset_button.setToolTip("Start the exit histogram again from zero")
        self.reset_button.clicked.connect(self.reset_histogram)
        layout.addWidget(self.reset_button, 0, Qt.AlignmentFlag.AlignRight)
        return box

    def _build_record_box(self) -> QGroupBox:
        box = QGroupBox("Recordings", self)
        layout = QVBoxLayout(box)
        self.record_dir = FolderField("Folder for recordings", "folder for recordings",
                                      "Record (Ctrl+R) saves here as mess-live-<date>-<time>.mp4", box)
        layout.addWidget(self.record_dir)
        self.record_label = QLabel("Record (Ctrl+R) saves the annotated frames here.", box)
        self.record_label.setWordWrap(True)
        self.record_label.setStyleSheet("color: #6b7280;")
        self.record_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.record_label)
        return box

    def _build_shortcuts(self) -> None:
        def shortcut(key: str | Qt.Key, slot) -> QShortcut:
            item = QShortcut(QKeySequence(key), self)
            item.setContext(Qt.ShortcutContext.WindowShortcut)   # a hidden page's shortcuts are inactive
            item.activated.connect(slot)
            return item

        self.play_shortcut = shortcut(Qt.Key.Key_Space, self.toggle_play)
        self.step_shortcut = shortcut(Qt.Key.Key_Period, self.step)
        self.inspect_shortcut = shortcut(Qt.Key.Key_I, self.inspect_frame)
        self.present_shortcut = shortcut(Qt.Key.Key_F5, lambda: self.set_presentation(not self._presenting))
        self.leave_shortcut = shortcut(Qt.Key.Key_Escape, lambda: self.set_presentation(False))
        self.leave_shortcut.setEnabled(False)

    # --- settings -------------------------------------------------------------------------------
    def _restore(self) -> None:
        s = self.settings
        self.source.restore(s, "live/source")
        self.loop_check.setChecked(s.get("live/loop", True))
        self.realtime_check.setChecked(s.get("live/realtime", True))
        self.opacity_slider.setValue(s.get("live/opacity", 50, minimum=self.opacity_slider.minimum(),
                                           maximum=self.opacity_slider.maximum()))
        self._on_opacity(self.opacity_slider.value())
        self.record_dir.set_text(s.get("live/record_dir", default_record_dir()))
        self._update_source_options()

    def save_settings(self) -> None:
        s = self.settings
        self.source.save(s, "live/source")
        s.set("live/loop", self.loop_check.isChecked())
        s.set("live/realtime", self.realtime_check.isChecked())
        s.set("live/opacity", self.opacity_slider.value())
        s.set("live/record_dir", self.record_dir.text())

    # --- messages ---------------------------------------------------------------------------------
    def show_message(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #b00020; font-weight: bold;" if error else "")
        self.status.setProperty("error", error)

    @property
    def has_error(self) -> bool:
        return bool(self.status.property("error"))

    # --- running ----------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """A loop is on (connecting, playing or paused)."""
        return self._worker is not None

    def start_or_stop(self) -> None:
        if self.running:
            self.stop()
        else:
            self.start()

    def toggle_play(self) -> None:
        """Space: start when stopped, otherwise pause / play."""
        if not self.running:
            self.start()
        else:
            self.pause_button.setChecked(not self.pause_button.isChecked())

    def start(self) -> bool:
        """Play the chosen source (a running loop is stopped first). False, with a message, when it cannot."""
        net = self.state.net
        if net is None:
            self.show_message("Open a model first (Model page or File > Open).", error=True)
            return False
        spec = self.source.spec()
        if not spec:
            what = {"file": "a video file", "folder": "a folder of images", "rtsp": "a stream URL"}.get(
                self.source.kind(), "a source")
            self.show_message(f"Choose {what} first.", error=True)
            return False
        self._retire()
        self.save_settings()
        freeze_long_lived_objects()
        if self.pause_button.isChecked():             # Start plays
            self.pause_button.blockSignals(True)
            self.pause_button.setChecked(False)
            self.pause_button.blockSignals(False)
        worker = LiveWorker(net, spec, self.source.kind(), config=self._run_config(),
                            loop=self.loop_check.isChecked(), realtime=self.realtime_check.isChecked(),
                            opacity=self.opacity_slider.value() / 100, compare_full=self.side_button.isChecked(),
                            paused=self.pause_button.isChecked(), box=self.view.box(), parent=self,
                            backend=self.state.backend, precision=self.state.precision)
        worker.opened.connect(lambda info, w=worker: self._on_opened(w, info))
        worker.frame_ready.connect(lambda w=worker: self._on_frame(w))
        worker.message.connect(lambda text, w=worker: w is self._worker and self.show_message(text))
        worker.failed.connect(lambda text, w=worker: self._on_failed(w, text))
        worker.ended.connect(lambda text, w=worker: self._on_ended(w, text))
        worker.recording_started.connect(self._on_recording_started)
        worker.recording_saved.connect(self._on_recording_saved)
        worker.recording_failed.connect(self._on_recording_failed)
        worker.finished.connect(lambda w=worker: self._on_finished(w))
        self._worker = worker
        self._depths = exit_depths(net)
        self.source_info = None
        self.last_frame = None
        self._drawn_version = -1
        self.readouts.clear()
        self.latency_plot.set_points([])
        self._draw_histogram({})
        live = self.source.kind() in ("webcam", "rtsp")
        self.show_message(f"Connecting to {self.source.describe()}... (up to {worker.timeout_s:g} s)" if live
                          else f"Opening {self.source.describe()}...")
        worker.start()
        self._update_buttons()
        return True

    def stop(self) -> None:
        """Stop the loop (a recording is finished); the last frame stays on screen."""
        if self._worker is None:
            return
        self._retire()
        self.show_message("Stopped.")
        self._update_buttons()

    def _retire(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.stop()
            if worker.is_running():
                self._retired.append(worker)
        if self.record_button.isChecked():
            self.record_button.blockSignals(True)
            self.record_button.setChecked(False)
            self.record_button.blockSignals(False)

    def set_paused(self, paused: bool) -> None:
        if self.pause_button.isChecked() != paused:
            self.pause_button.setChecked(paused)     # comes back here through toggled
            return
        if self._worker is not None:
            self._worker.set_paused(paused)
            if paused:
                self.show_message("Paused: Space plays, . (full stop) steps one frame.")
            elif self.source_info is not None:
                self.show_message(self._playing_text(self.source_info))
        self._update_buttons()

    def step(self) -> None:
        """One frame, while paused (a running loop is paused first)."""
        if self._worker is None:
            return
        if not self.pause_button.isChecked():
            self.pause_button.setChecked(True)
            return
        self._worker.step()

    def _update_buttons(self) -> None:
        running = self.running
        self.start_button.setText("Stop" if running else "Start")
        self.pause_button.setText("Play" if self.pause_button.isChecked() else "Pause")
        self.step_button.setEnabled(running and self.pause_button.isChecked())
        self.record_button.setEnabled(running)
        self.record_button.setStyleSheet("QPushButton { background: #c62828; color: white; font-weight: bold; }"
                                         if self.record_button.isChecked() else "")
        self.record_button.setText("● Recording" if self.record_button.isChecked() else "Record")

    def _update_source_options(self) -> None:
        files = self.source.kind() in ("file", "folder")
        self.loop_check.setEnabled(files)
        self.realtime_check.setEnabled(files)

    def _on_source_changed(self) -> None:
        self._update_source_options()
        if self.running and self.source.spec():
            self.start()                              # switch to the new source at once

    # --- what the worker reports ----------------------------------------------------------------------
    def _playing_text(self, info: SourceInfo) -> str:
        kind = {"webcam": "webcam", "rtsp": "stream", "folder": "image folder", "file": "video file"}.get(info.kind,
                                                                                                      info.kind)
        parts = [kind]
        if info.fps:
            parts.append(f"{info.fps:g} fps")
        if info.frame_count:
            parts.append(f"{info.frame_count} frames")
        return f"Playing {info.name} ({', '.join(parts)})."

    def _on_opened(self, worker: LiveWorker, info: SourceInfo) -> None:
        if worker is not self._worker:
            return
        self.source_info = info
        self._depths = dict(worker.exit_depths) or self._depths
        self.show_message(self._playing_text(info) if not self.pause_button.isChecked()
                          else f"{self._playing_text(info)} Paused: . (full stop) steps one frame.")

    def _on_frame(self, worker: LiveWorker) -> None:
        if worker is not self._worker:
            return
        frame = worker.take()
        if frame is None:
            return
        self.last_frame = frame
        self.view.set_image(frame.image)
        r = frame.result
        self._exits_shown = frame.exits
        self.readouts.show_frame(exit_id=r.exit_id, exit_index=r.exit_index, exits=len(frame.exits),
                                 depth=r.exit_depth, latency_ms=r.latency_ms, full_latency_ms=r.full_latency_ms,
                                 fps=frame.fps, confidence=r.confidence, dropped=frame.dropped_total, index=r.index,
                                 frame_count=frame.frame_count, paused=self.pause_button.isChecked())

    def _on_failed(self, worker: LiveWorker, text: str) -> None:
        if worker is not self._worker:
            return
        self._retire()
        self.show_message(text, error=True)
        self._update_buttons()

    def _on_ended(self, worker: LiveWorker, text: str) -> None:
        if worker is not self._worker:
            return
        self._retire()
        summary = worker.summary()
        self.show_message(f"{text}: {summary['frames']} frames, {summary['fps']:.1f} fps, median latency "
                          f"{summary['median_latency_ms']:.0f} ms.")
        self._update_buttons()

    def _on_finished(self, worker: LiveWorker) -> None:
        if worker in self._retired:
            self._retired.remove(worker)
        if worker is self._worker:                 # ended without a word (stopped while connecting)
            self._worker = None
            self._update_buttons()
        worker.deleteLater()

    # --- plots ------------------------------------------------------------------------------------
    def redraw_plots(self) -> None:
        """The timer's job: redraw the plots when the worker counted new frames since the last time."""
        worker = self._worker
        if worker is None or worker.version == self._drawn_version:
            return
        self._drawn_version = worker.version
        self.latency_plot.set_points(worker.history())
        self._draw_histogram(worker.histogram())

    def _draw_histogram(self, counts: dict[str, int]) -> None:
        config = self._run_config()
        kept = list(self._exits_shown) or (config.exits if config is not None else [FINAL_EXIT])
        names = [e for e in kept] + [e for e, n in counts.items() if n and e not in kept]
        names.sort(key=lambda e: self._depths.get(e, 1.0))
        short = [short_exit_name(e) for e in names]
        labels = [s if short.count(s) == 1 else e for s, e in zip(short, names)]
        self.histogram.set_counts([(label, counts.get(e, 0), self._depths.get(e, 1.0))
                                   for label, e in zip(labels, names)])

    def reset_histogram(self) -> None:
        if self._worker is not None:
            self._worker.reset_histogram()
        self._draw_histogram({})

    # --- configuration ------------------------------------------------------------------------------
    def _run_config(self) -> ExitConfig | None:
        """What the loop runs: None for the full network."""
        return None if self.full_button.isChecked() else self._config

    def _on_backend_changed(self, backend: str, precision: str) -> None:
        """Another backend: a running loop starts again on it (same source), as for another model."""
        if self.running and self.start():
            self.show_message(f"Runtime changed: playing on {backend} {precision}.")

    def _apply_config(self) -> None:
        self._show_config()
        if self._worker is None:
            return
        try:
            self._worker.set_config(self._run_config())
        except ConfigError as exc:
            self.show_message(str(exc).splitlines()[0], error=True)

    def _show_config(self) -> None:
        config = self._run_config()
        depths = self._depths or (exit_depths(self.state.net) if self.state.net is not None else {})
        if config is None:
            toggled = self.full_button.isChecked() and self._config is not None
            why = "Full network toggle" if toggled else "no configuration applied"
            html = (f'<span style="color:{_hex(exit_colour(1.0))}; font-size: 16pt;">■</span> '
                    f"<b>full network</b> <span style='color:#6b7280'>({why})</span>")
        else:
            chips = [f'<span style="color:{_hex(exit_colour(depths.get(e, 1.0)))}; font-size: 16pt;">■</span>'
                     f"&nbsp;<b>{short_exit_name(e)}</b>" for e in config.exits]
            html = " › ".join(chips) + f" <span style='color:#6b7280'>({config.mode})</span>"
        self.config_label.setText(html)
        self.config_label.setToolTip(describe_exits(config) if config is None else "\n".join(config.exits))
        thresholds = uniform_thresholds(config)
        self.sliders.setEnabled(thresholds is not None)
        if thresholds is not None:
            self.threshold_note.setText("The thresholds apply to every kept exit; the last one answers the rest.")
        elif config is None:
            self.threshold_note.setText("The full network has no thresholds: apply a configuration from the "
                                        "Search page to exit early.")
        else:
            self.threshold_note.setText("One exit answers every frame: there is no threshold to set.")

    def _on_config_changed(self, config: ExitConfig | None) -> None:
        """A configuration from the Search page ('Apply to Live'): the loop switches at the next frame."""
        self._base_config = config
        self._config = config
        thresholds = uniform_thresholds(config)
        if thresholds is not None:
            self.sliders.set_values(*thresholds)
        if self.full_button.isChecked() and config is not None:
            self.full_button.setChecked(False)        # -> _apply_config
        else:
            self._apply_config()
        if config is not None and not self.has_error:
            self.show_message(f"Configuration applied: {describe_exits(config)}")

    def _on_thresholds(self, th_pix: float, th_img: float) -> None:
        if self._base_config is None or uniform_thresholds(self._base_config) is None:
            return
        self._config = with_thresholds(self._base_config, th_pix, th_img)
        self._apply_config()

    def _on_full_toggled(self, on: bool) -> None:
        self._apply_config()

    def _on_side_toggled(self, on: bool) -> None:
        if self._worker is not None:
            self._worker.set_compare_full(on)

    def _on_opacity(self, value: int) -> None:
        self.opacity_label.setText(f"{value} %")
        if self._worker is not None:
            self._worker.set_opacity(value / 100)

    def _on_view_resized(self, width: int, height: int) -> None:
        if self._worker is not None:
            self._worker.set_box((width, height))

    # --- the model --------------------------------------------------------------------------------
    def _model_ready(self) -> None:
        net = self.state.net
        if net is None:
            self.legend.set_classes([])
            return
        self._depths = exit_depths(net)
        self.legend.set_classes(legend(net.spec.classes))

    def _on_model_changed(self) -> None:
        """Another model: a running loop starts again on it (same source)."""
        self._model_ready()
        self._show_config()
        if self.running:
            if self.start():
                self.show_message(f"Model changed: playing on {self.state.folder.name}.")

    # --- recording --------------------------------------------------------------------------------
    def record_path(self) -> Path:
        folder = Path(self.record_dir.text() or default_record_dir()).expanduser()
        return folder / f"mess-live-{time.strftime('%Y%m%d-%H%M%S')}.mp4"

    def start_recording(self, path: str | Path | None = None) -> bool:
        """Record to ``path`` (default: a new file in the recordings folder) while the loop runs."""
        if self._worker is None:
            self.show_message("Start playing first: the recording is of the frames being shown.", error=True)
            self._set_record_checked(False)
            return False
        target = Path(path) if path is not None else self.record_path()
        self._worker.start_recording(target)
        self.record_label.setText(f"Recording to {target} ...")
        self._set_record_checked(True)
        return True

    def stop_recording(self) -> None:
        if self._worker is not None:
            self._worker.stop_recording()
        self._set_record_checked(False)

    def _set_record_checked(self, on: bool) -> None:
        self.record_button.blockSignals(True)
        self.record_button.setChecked(on)
        self.record_button.blockSignals(False)
        self._update_buttons()

    def _on_record_toggled(self, on: bool) -> None:
        if on:
            self.start_recording()
        else:
            self.stop_recording()

    def _on_recording_started(self, path: str) -> None:
        self.record_label.setText(f"● Recording to {path}")

    def _on_recording_saved(self, path: str, frames: int) -> None:
        self.record_label.setText(f"Saved {path} ({frames} frames)")
        self.last_recording = path

    def _on_recording_failed(self, message: str) -> None:
        self.record_label.setText("")
        self.show_message(message, error=True)
        self._set_record_checked(False)

    # --- presentation mode --------------------------------------------------------------------------
    @property
    def presenting(self) -> bool:
        return self._presenting

    def set_presentation(self, on: bool) -> None:
        """Full screen with only the frame and the readouts (F5); Esc or F5 leaves."""
        on = bool(on)
        if on == self._presenting:
            if self.present_button.isChecked() != on:
                self.present_button.setChecked(on)
            return
        self._presenting = on
        window = self.window()
        if on:
            self._hook_window(window)
            chrome = []
            if isinstance(window, QMainWindow):
                chrome = [window.menuBar(), window.statusBar()]
                tabs = getattr(window, "tabs", None)
                if tabs is not None:
                    chrome.append(tabs.tabBar())
            self._hidden_chrome = [w for w in chrome if w is not None and w.isVisible()]
            for widget in self._hidden_chrome:
                widget.setVisible(False)
        else:
            for widget in self._hidden_chrome:
                widget.setVisible(True)
            self._hidden_chrome = []
        for widget in (self.controls_bar, self.side_panel, self.bottom_bar):
            widget.setVisible(not on)
        self.readouts.set_max_scale(PRESENTATION_SCALE if on else 1.0)
        self.leave_shortcut.setEnabled(on)
        self.present_button.blockSignals(True)
        self.present_button.setChecked(on)
        self.present_button.blockSignals(False)
        if hasattr(window, "set_full_screen"):
            window.set_full_screen(on)
        elif on:
            window.showFullScreen()
        else:
            window.showNormal()

    def _hook_window(self, window) -> None:
        """Leaving full screen another way (F11, Esc handled by the window) leaves presentation mode too."""
        if self._window_hooked:
            return
        action = getattr(window, "fullscreen_action", None)
        if action is not None:
            action.toggled.connect(lambda full: None if full else self.set_presentation(False))
            self._window_hooked = True

    # --- shutdown ---------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop the loop, finish a recording, and wait for the threads (bounded)."""
        self._plot_timer.stop()
        if self._presenting:
            self.set_presentation(False)
        self._retire()
        deadline = time.monotonic() + SHUTDOWN_WAIT_MS / 1000
        for worker in list(self._retired):
            worker.stop()
            left = max(0, int((deadline - time.monotonic()) * 1000))
            if not worker.wait(left):
                _ORPHANS.append(worker)                # never destroy a running QThread
                worker.setParent(None)
        self._retired = []
        self._update_buttons()


PAGES.add("live", PageEntry("live", "Live", "Ctrl+4", LivePage))

"""The Live page's half that runs the player: start, stop, pause, step, what the worker reports (frames,
failures, the end, recordings), the plots, and shutdown. A mixin of app.pages.live_page.LivePage, which
owns the widgets and ``controls`` (core.runtime.video.live_controls.LiveControls)."""

from __future__ import annotations

import gc
import time
from pathlib import Path

from app.live_worker import LiveWorker, SourceInfo
from core.models.spec import FINAL_EXIT
from core.profile.cache import COST_CACHE, cost_key
from core.runtime.video.live_readout import frame_readouts
from core.runtime.video.live_view import exit_depths
from core.runtime.video.overlay import short_exit_name

SHUTDOWN_WAIT_MS = 10_000         # a source still connecting answers within its 5 s timeout
_ORPHANS: list[LiveWorker] = []   # workers that outlived shutdown's wait: kept alive until their thread ends
KINDS = {"webcam": "webcam", "rtsp": "stream", "folder": "image folder", "file": "video file"}


def freeze_long_lived_objects() -> None:
    """Put every object alive now out of the cyclic garbage collector's reach (gc.freeze).

    A full collection walks the whole heap (torch, Qt and pyqtgraph objects: about a million) holding the
    GIL, 0.3 s on a slow machine: the UI and the video freeze meanwhile. What is alive when a loop starts
    (the model, the widgets) lives long anyway; objects made later are collected as usual."""
    gc.freeze()


def playing_text(info: SourceInfo) -> str:
    parts = [KINDS.get(info.kind, info.kind)]
    if info.fps:
        parts.append(f"{info.fps:g} fps")
    if info.frame_count:
        parts.append(f"{info.frame_count} frames")
    return f"Playing {info.name} ({', '.join(parts)})."


class LiveRunning:
    """Start, stop and the worker's reports (see the module docstring)."""

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

    def _latency_table(self, net):
        """A latency table the Model page measured for this model, size, device and backend (else None)."""
        info, size = self.state.info, net.spec.input_size
        if info is None or not size:
            return None
        device = next(net.parameters()).device
        return COST_CACHE.get(cost_key(net, info.weights_sha256, tuple(size), device=device, backend=self.state.backend,
                                       precision=self.state.precision))

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
        self.controls_bar.set_quietly(self.pause_button, False)           # Start plays
        self.controls.paused = False
        c = self.controls
        worker = LiveWorker(net, spec, self.source.kind(), config=c.run_config, loop=c.loop,
                            realtime=c.realtime, opacity=c.opacity / 100,
                            compare_full=c.side_by_side, paused=False, box=self.view.box(), parent=self,
                            backend=self.state.backend, precision=self.state.precision, overlay=c.overlay,
                            costs=self._latency_table(net), anytime=c.anytime,
                            weights_sha256=self.state.info.weights_sha256 if self.state.info is not None else None)
        worker.opened.connect(lambda info, w=worker: self._on_opened(w, info))
        worker.frame_ready.connect(lambda w=worker: self._on_frame(w))
        worker.message.connect(lambda text, w=worker: w is self._worker and self.show_message(text))
        worker.failed.connect(lambda text, w=worker: self._on_failed(w, text))
        worker.ended.connect(lambda text, w=worker: self._on_ended(w, text))
        worker.recording_started.connect(lambda path: self.record_label.setText(f"● Recording to {path}"))
        worker.recording_saved.connect(self._on_recording_saved)
        worker.recording_failed.connect(self._on_recording_failed)
        worker.finished.connect(lambda w=worker: self._on_finished(w))
        self._worker = worker
        self._depths = exit_depths(net)
        live = self.source.kind() in ("webcam", "rtsp")
        text = (f"Connecting to {self.source.describe()}... (up to {worker.timeout_s:g} s)" if live
                else f"Opening {self.source.describe()}...")
        self._clear_frame(text)
        self.show_message(text)
        worker.start()
        self._update_buttons()
        return True

    def _clear_frame(self, hint: str) -> None:
        """No frame, no readouts, no plots: what a new (or failed) source starts from."""
        self.source_info = None
        self.last_frame = None
        self._drawn_version = -1
        self.view.clear(hint)
        self.view.set_notice("")
        self.readouts.clear()
        self.latency_plot.set_points([])
        self._draw_histogram({})
        self.controls.watch.reset()

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
        self.controls_bar.set_quietly(self.record_button, False)

    def set_paused(self, paused: bool) -> None:
        if self.pause_button.isChecked() != paused:
            self.pause_button.setChecked(paused)     # comes back here through toggled
            return
        self.controls.paused = paused
        if self._worker is not None:
            self._worker.set_paused(paused)
            if paused:
                self.show_message("Paused: Space plays, . (full stop) steps one frame.")
            elif self.source_info is not None:
                self.show_message(playing_text(self.source_info))
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
        self.controls.recording = self.record_button.isChecked()
        self.controls_bar.show_state(running=self.running, paused=self.pause_button.isChecked(),
                                     recording=self.controls.recording)

    def _on_source_changed(self) -> None:
        self.controls_bar.show_source_options()
        if self.running and self.source.spec():
            self.start()                              # switch to the new source at once

    def inspect_frame(self) -> bool:
        """Hand the frame on screen (at the processing size) to the Inspect page."""
        if self.last_frame is None:
            self.show_message("No frame yet: start the source, then Inspect shows its current frame.")
            return False
        result = self.last_frame.result
        self.state.inspect_requested.emit(result.image, f"live frame {result.index}")
        return True

    # --- what the worker reports ----------------------------------------------------------------------
    def _on_opened(self, worker: LiveWorker, info: SourceInfo) -> None:
        if worker is not self._worker:
            return
        self.source_info = info
        self._depths = dict(worker.exit_depths) or self._depths
        self.show_message(playing_text(info) if not self.pause_button.isChecked()
                          else f"{playing_text(info)} Paused: . (full stop) steps one frame.")

    def _on_frame(self, worker: LiveWorker) -> None:
        if worker is not self._worker:
            return
        frame = worker.take()
        if frame is None:
            return
        self.last_frame = frame
        self.view.set_image(frame.image)
        self._exits_shown = frame.exits
        self.readouts.show(frame_readouts(frame, paused=self.pause_button.isChecked()))
        had_hint = bool(self.view.notice)
        if not frame.refining:                 # an anytime refinement is not where the frame answered
            self.controls.watch.frame(frame.exits, frame.result.exit_id, frame.refreshed)
        hint = self.controls.no_exit_hint()
        self.view.set_notice(hint)
        if hint and not had_hint and not self.has_error:
            self.show_message(hint)

    def _on_failed(self, worker: LiveWorker, text: str) -> None:
        if worker is not self._worker:
            return
        self._retire()
        self._clear_frame(text)
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
        config = self.controls.run_config
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

    # --- recording --------------------------------------------------------------------------------
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
        self.controls_bar.set_quietly(self.record_button, on)
        self._update_buttons()

    def _on_recording_saved(self, path: str, frames: int) -> None:
        self.record_label.setText(f"Saved {path} ({frames} frames)")
        self.last_recording = path

    def _on_recording_failed(self, message: str) -> None:
        self.record_label.setText("")
        self.show_message(message, error=True)
        self._set_record_checked(False)

    # --- shutdown ---------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop the loop, finish a recording, and wait for the threads (bounded)."""
        self._plot_timer.stop()
        if self.controls.presenting:
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

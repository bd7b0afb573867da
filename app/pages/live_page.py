"""The Live page: a video source through the open model with real early exit, frame by frame.

A view over two Qt-free objects: core.runtime.video.live_controls.LiveControls (the configuration, the
thresholds set over it, full network, side by side, anytime, the deadline, opacity and overlay style,
presentation mode, the no-early-exit watch) and the player (core.runtime.video.player.LivePlayer, on its thread through
app.live_worker.LiveWorker), which plays. The widgets are app/widgets' (source bar, side panel,
readouts, frame view, exit legend), laid out and connected by app.pages.live_layout; this module holds
what their signals call: a LiveControls method, then what changed is shown and passed to the player.
F5 is presentation mode: full screen, only the frame, the exit-colour legend and the readouts; F, B, A,
D (the deadline) and the threshold keys (Up/Down or +/- th_img, Shift+Up/Down th_pix) work there too.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWidget

from app.live_worker import LiveFrame, LiveWorker, SourceInfo
from app.pages import PAGES, Page, PageEntry
from app.pages.live_layout import LiveLayout
from app.pages.live_running import LiveRunning, freeze_long_lived_objects
from app.widgets.live_side_panel import default_record_dir
from app.widgets.presentation import WindowChrome
from core.errors import ConfigError
from core.runtime.early_exit import default_deadline_exits
from core.runtime.video.live_controls import ANYTIME_OFF, DEADLINE_MS, DEADLINE_OFF, DEADLINE_RANGE_MS, LiveControls
from core.runtime.video.live_view import describe_exits, exit_depths
from core.runtime.video.overlay import OVERLAY_STYLES, exit_colour, fill_palette, legend, short_exit_name

PRESENTATION_SCALE = 2.0         # readouts at most this much bigger in presentation mode
__all__ = ["LivePage", "default_record_dir", "freeze_long_lived_objects"]


class LivePage(LiveLayout, LiveRunning, Page):
    """Source bar on top; the frame and its readouts; configuration, overlay, plots and recording at the side."""

    title = "Live"

    def __init__(self, state, settings, parent: QWidget | None = None) -> None:
        super().__init__(state, settings, parent)
        self.controls = LiveControls(state.config)
        self._worker: LiveWorker | None = None
        self._retired: list[LiveWorker] = []
        self._depths: dict[str, float] = {}
        self._exits_shown: tuple[str, ...] = ()
        self._drawn_version = -1
        self._chrome = WindowChrome()
        self.last_frame: LiveFrame | None = None
        self.source_info: SourceInfo | None = None
        self.last_recording: str | None = None
        self._build()
        self._connect()
        self._build_shortcuts()
        self._restore()
        state.config_changed.connect(self._on_config_changed)
        state.model_changed.connect(self._on_model_changed)
        state.backend_changed.connect(self._on_backend_changed)
        self._plot_timer = QTimer(self)
        self._plot_timer.setInterval(int(1000 / 15))          # plots redrawn at most 15 times a second
        self._plot_timer.timeout.connect(self.redraw_plots)
        self._plot_timer.start()
        self._model_ready()
        self._show_controls()
        self._update_buttons()

    # --- settings -------------------------------------------------------------------------------
    def _restore(self) -> None:
        s = self.settings
        self.source.restore(s, "live/source")
        for name, check in (("loop", self.loop_check), ("realtime", self.realtime_check)):
            check.setChecked(s.get(f"live/{name}", True))
            setattr(self.controls, name, check.isChecked())
        self.controls.set_anytime(s.get("live/anytime", False))
        self.controls.set_deadline_ms(s.get("live/deadline_ms", DEADLINE_MS, minimum=DEADLINE_RANGE_MS[0],
                                            maximum=DEADLINE_RANGE_MS[1]))
        self.controls.set_deadline(s.get("live/deadline", False))
        self.controls.set_opacity(s.get("live/opacity", 50, minimum=0, maximum=100))
        self.controls.set_overlay(s.get("live/overlay", self.controls.overlay, choices=OVERLAY_STYLES))
        self.record_dir.set_text(s.get("live/record_dir", default_record_dir()))
        self.controls_bar.show_source_options()

    def save_settings(self) -> None:
        s = self.settings
        self.source.save(s, "live/source")
        for key, value in self.controls.settings().items():      # opacity, overlay, loop, realtime, anytime, deadline
            s.set(f"live/{key}", value)
        s.set("live/record_dir", self.record_dir.text())

    # --- messages ---------------------------------------------------------------------------------
    def show_message(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #b00020; font-weight: bold;" if error else "")
        self.status.setProperty("error", error)

    @property
    def has_error(self) -> bool:
        return bool(self.status.property("error"))

    # --- the controls: a change to LiveControls, shown, then passed to the player ---------------------
    def _pass_on(self, control: str, *args) -> None:
        if self._worker is not None:
            getattr(self._worker, control)(*args)

    def _set_flag(self, name: str, on: bool) -> None:
        """Loop or Real time: kept in the controls, passed to a running player."""
        setattr(self.controls, name, bool(on))
        self._pass_on(f"set_{name}", bool(on))

    def _run_config_changed(self) -> None:
        self._show_controls()
        try:
            self._pass_on("set_config", self.controls.run_config)
        except ConfigError as exc:
            self.show_message(str(exc).splitlines()[0], error=True)

    def set_full_network(self, on: bool) -> None:
        if self.controls.set_full_network(on):
            self._run_config_changed()
            if self.controls.presenting:
                self.view.flash("Full network" if on else f"Early exit: {describe_exits(self.controls.run_config)}")
        self._show_controls()

    def set_side_by_side(self, on: bool) -> None:
        if self.controls.set_side_by_side(on):
            self._pass_on("set_compare_full", self.controls.side_by_side)
            if self.controls.presenting:
                self.view.flash("Side by side with the full network" if on else "Early exit only")
        self._show_controls()

    def set_anytime(self, on: bool) -> None:
        """Anytime on or off (A); on turns the deadline off, and says so."""
        had_deadline = self.controls.deadline
        if self.controls.set_anytime(on):
            self._pass_on("set_anytime", self.controls.anytime)
            if had_deadline and not self.controls.deadline:
                self._run_config_changed()
                if not self.has_error:
                    self.show_message(DEADLINE_OFF)
            if self.controls.presenting:
                self.view.flash("Anytime: every exit in turn" if on else "Early exit")
        self._show_controls()

    def set_deadline(self, on: bool) -> None:
        """Deadline mode on or off (D): the player switches to a deadline configuration over the kept exits, or
        back to the configuration as it was; on turns Anytime off, and says so."""
        had_anytime = self.controls.anytime
        if self.controls.set_deadline(on):
            if had_anytime and not self.controls.anytime:
                self._pass_on("set_anytime", False)
            self._run_config_changed()
            if not self.has_error:
                self.show_message(self._deadline_text() + (f" {ANYTIME_OFF}." if had_anytime and on else ""))
            if self.controls.presenting:
                self.view.flash(f"Deadline {self.controls.deadline_ms:g} ms" if on else
                                f"Early exit: {describe_exits(self.controls.run_config)}")
        self._show_controls()

    def set_deadline_ms(self, ms: float) -> None:
        """The deadline's milliseconds (the spin box): a running deadline switches at the next frame."""
        if self.controls.set_deadline_ms(ms) and self.controls.deadline:
            self._run_config_changed()
        self._show_controls()

    def _deadline_text(self) -> str:
        c = self.controls
        if not c.deadline:
            return f"Deadline off: {describe_exits(c.run_config)} runs as before."
        config = c.run_config
        if config is None or config.mode != "deadline":
            return f"Deadline {c.deadline_ms:g} ms is on; it runs over the kept exits once a model is open."
        return f"Deadline {c.deadline_ms:g} ms over {describe_exits(config)}."

    def nudge_threshold(self, which: str, steps: int) -> None:
        """A threshold key (presentation mode): move it, and say the thresholds on the frame for a moment."""
        if self.controls.nudge(which, steps):
            self.sliders.set_values(*self.controls.thresholds)
            self._run_config_changed()
        self.view.flash(self.controls.thresholds_text())

    def _on_thresholds(self, th_pix: float, th_img: float) -> None:
        if self.controls.set_thresholds(th_pix, th_img):
            self._run_config_changed()

    def _on_opacity(self, value: int) -> None:
        self.controls.set_opacity(value)
        self.panel.show_overlay(self.controls.opacity, self.controls.overlay)
        self._pass_on("set_opacity", self.controls.opacity / 100)

    def set_overlay(self, style: str) -> None:
        self.controls.set_overlay(style)
        self.panel.show_overlay(self.controls.opacity, self.controls.overlay)
        self._show_legend()
        self._pass_on("set_overlay", self.controls.overlay)

    def _on_config_changed(self, config) -> None:
        """A configuration from the Search page ('Apply to Live') or a file: the loop switches at the next frame.
        One of mode deadline turns the deadline on at its milliseconds (and Anytime off)."""
        had_anytime = self.controls.anytime
        self.controls.apply_config(config, restored=self.state.config_restored)
        if had_anytime and not self.controls.anytime:
            self._pass_on("set_anytime", False)
        if self.controls.thresholds is not None:
            self.sliders.set_values(*self.controls.thresholds)
        self._run_config_changed()
        if config is not None and not self.has_error:
            deadline = f" ({self._deadline_text()})" if self.controls.deadline else ""
            self.show_message(f"Configuration applied: {describe_exits(config)}{deadline}")

    def _show_controls(self) -> None:
        depths = self._depths or (exit_depths(self.state.net) if self.state.net is not None else {})
        c = self.controls
        self.panel.show_config(c.config_view(depths), full_network=c.full_network, side_by_side=c.side_by_side,
                               anytime=c.anytime)
        self.panel.show_deadline(c.deadline, c.deadline_ms)
        self.panel.show_overlay(c.opacity, c.overlay)
        running = c.run_config
        self.latency_plot.set_deadline(running.deadline_ms if running is not None and running.mode == "deadline"
                                       else None)
        exits = c.run_config.exits if c.run_config is not None else ["final"]
        self.exit_legend.set_exits([(short_exit_name(e), exit_colour(depths.get(e, 1.0))) for e in exits])

    # --- the model --------------------------------------------------------------------------------
    def _show_legend(self) -> None:
        net = self.state.net
        if net is None:
            self.legend.set_classes([])
            return
        colours = fill_palette(net.spec.classes, self.controls.overlay)
        self.legend.set_classes(legend((net.spec.classes.names, colours)))

    def _model_ready(self) -> None:
        net = self.state.net
        if net is not None:
            self._depths = exit_depths(net)
        self.controls.set_default_rungs(default_deadline_exits(net) if net is not None else ())
        self._show_legend()

    def _on_model_changed(self) -> None:
        """Another model: a running loop starts again on it (same source)."""
        self._model_ready()
        self._show_controls()
        if self.running and self.start():
            self.show_message(f"Model changed: playing on {self.state.folder.name}.")

    def _on_backend_changed(self, backend: str, precision: str) -> None:
        """Another backend: a running loop starts again on it (same source), as for another model."""
        if self.running and self.start():
            self.show_message(f"Runtime changed: playing on {backend} {precision}.")

    # --- recording --------------------------------------------------------------------------------
    def record_path(self) -> Path:
        folder = Path(self.record_dir.text() or default_record_dir()).expanduser()
        return folder / f"mess-live-{time.strftime('%Y%m%d-%H%M%S')}.mp4"

    # --- presentation mode --------------------------------------------------------------------------
    @property
    def presenting(self) -> bool:
        return self.controls.presenting

    def set_presentation(self, on: bool) -> None:
        """Full screen with only the frame, the exit legend and the readouts (F5); Esc or F5 leaves."""
        if not self.controls.set_presenting(on):
            self.controls_bar.set_quietly(self.present_button, self.controls.presenting)
            return
        on = self.controls.presenting
        window = self.window()
        for widget in (self.controls_bar, self.side_panel, self.bottom_bar):
            widget.setVisible(not on)
        self.exit_legend.setVisible(on)
        self.readouts.set_max_scale(PRESENTATION_SCALE if on else 1.0)
        for item in [self.leave_shortcut, *self.threshold_shortcuts]:
            item.setEnabled(on)
        self.controls_bar.set_quietly(self.present_button, on)
        if on:
            self._chrome.on_left_full_screen(window, lambda: self.set_presentation(False))
            self._chrome.enter(window)
        else:
            self._chrome.leave(window)
            self.view.flash("")


PAGES.add("live", PageEntry("live", "Live", "Ctrl+4", factory=LivePage))

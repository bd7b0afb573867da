"""The Live page's widgets, which of its methods each signal calls, and its keyboard shortcuts. A mixin of
app.pages.live_page.LivePage, which builds itself with ``_build``, ``_connect`` and ``_build_shortcuts``
and owns the slots they name (app.pages.live_running has the other half: the player)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QScrollArea, QSplitter, QVBoxLayout, QWidget

from app.widgets.exit_legend import ExitLegend
from app.widgets.frame_view import FrameView
from app.widgets.live_readouts import LiveReadouts
from app.widgets.live_side_panel import LiveSidePanel
from app.widgets.live_source_bar import LiveSourceBar

HINT = "Choose a source above and press Start (Ctrl+Return) or Space"
BAR_WIDGETS = ("source", "start_button", "pause_button", "step_button", "loop_check", "realtime_check",
               "record_button", "inspect_button")
PANEL_WIDGETS = ("config_label", "full_button", "side_button", "anytime_button", "deadline_check", "deadline_spin",
                 "sliders", "threshold_note",
                 "opacity_slider", "opacity_label", "overlay_combo", "legend", "latency_plot", "histogram",
                 "reset_button", "record_dir", "record_label")


class LiveLayout:
    """Source bar on top; the frame and its readouts; the side panel; status and Presentation at the bottom.
    The source bar's and side panel's widgets are also the page's attributes (BAR_WIDGETS, PANEL_WIDGETS)."""

    # --- building -------------------------------------------------------------------------------
    def _build(self) -> None:
        self.controls_bar = LiveSourceBar(self)
        self.panel = LiveSidePanel(self)
        for name in BAR_WIDGETS:
            setattr(self, name, getattr(self.controls_bar, name))
        for name in PANEL_WIDGETS:
            setattr(self, name, getattr(self.panel, name))
        self.view = FrameView(HINT, self)
        self.view.setObjectName("live-frame")
        self.exit_legend = ExitLegend(self)
        self.exit_legend.setVisible(False)
        self.readouts = LiveReadouts(parent=self)
        centre = QWidget(self)
        centre_layout = QVBoxLayout(centre)
        centre_layout.setContentsMargins(0, 0, 0, 0)
        centre_layout.addWidget(self.view, 1)
        centre_layout.addWidget(self.exit_legend)
        centre_layout.addWidget(self.readouts)
        self.side_panel = QScrollArea(self)
        self.side_panel.setWidget(self.panel)
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
        self.present_button.setToolTip("Full screen with only the frame and the big readouts — F5 (Esc or F5 "
                                       "leaves); there F, B, A, D, Up/Down (th_img) and Shift+Up/Down (th_pix) work")
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.present_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.controls_bar)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.bottom_bar)

    def _connect(self) -> None:
        self.source.changed.connect(self._on_source_changed)
        self.start_button.clicked.connect(self.start_or_stop)
        self.pause_button.toggled.connect(self.set_paused)
        self.step_button.clicked.connect(self.step)
        self.loop_check.toggled.connect(lambda on: self._set_flag("loop", on))
        self.realtime_check.toggled.connect(lambda on: self._set_flag("realtime", on))
        self.record_button.toggled.connect(lambda on: self.start_recording() if on else self.stop_recording())
        self.inspect_button.clicked.connect(self.inspect_frame)
        self.full_button.toggled.connect(self.set_full_network)
        self.side_button.toggled.connect(self.set_side_by_side)
        self.anytime_button.toggled.connect(self.set_anytime)
        self.deadline_check.toggled.connect(self.set_deadline)
        self.deadline_spin.valueChanged.connect(self.set_deadline_ms)
        self.sliders.changed.connect(self._on_thresholds)
        self.opacity_slider.valueChanged.connect(self._on_opacity)
        self.overlay_combo.currentIndexChanged.connect(lambda _: self.set_overlay(self.overlay_combo.currentData()))
        self.reset_button.clicked.connect(self.reset_histogram)
        self.present_button.toggled.connect(self.set_presentation)
        self.view.resized.connect(lambda w, h: self._pass_on("set_box", (w, h)))

    def _build_shortcuts(self) -> None:
        def shortcut(key, slot, presenting_only: bool = False) -> QShortcut:
            item = QShortcut(QKeySequence(key), self)
            item.setContext(Qt.ShortcutContext.WindowShortcut)   # a hidden page's shortcuts are inactive
            item.activated.connect(slot)
            item.setEnabled(not presenting_only)
            return item

        self.play_shortcut = shortcut(Qt.Key.Key_Space, self.toggle_play)
        self.step_shortcut = shortcut(Qt.Key.Key_Period, self.step)
        self.inspect_shortcut = shortcut(Qt.Key.Key_I, self.inspect_frame)
        self.full_shortcut = shortcut(Qt.Key.Key_F, lambda: self.set_full_network(not self.controls.full_network))
        self.side_shortcut = shortcut(Qt.Key.Key_B, lambda: self.set_side_by_side(not self.controls.side_by_side))
        self.anytime_shortcut = shortcut(Qt.Key.Key_A, lambda: self.set_anytime(not self.controls.anytime))
        self.deadline_shortcut = shortcut(Qt.Key.Key_D, lambda: self.set_deadline(not self.controls.deadline))
        self.present_shortcut = shortcut(Qt.Key.Key_F5, lambda: self.set_presentation(not self.controls.presenting))
        self.leave_shortcut = shortcut(Qt.Key.Key_Escape, lambda: self.set_presentation(False), True)
        keys = [("Up", "th_img", 1), ("+", "th_img", 1), ("=", "th_img", 1), ("Down", "th_img", -1),
                ("-", "th_img", -1), ("Shift+Up", "th_pix", 1), ("Shift+Down", "th_pix", -1)]
        self.threshold_shortcuts = [shortcut(key, lambda w=which, s=steps: self.nudge_threshold(w, s), True)
                                    for key, which, steps in keys]

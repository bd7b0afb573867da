"""The Live page's side panel: the exit configuration (full network, side by side, anytime, the deadline,
thresholds), the overlay (opacity, style, class legend), the latency plot and exit histogram, and the recordings folder.
Only widgets and how they show a core.runtime.video.live_controls.ConfigView: the page connects them."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QGroupBox, QHBoxLayout, QLabel, QPushButton,
                               QSlider, QVBoxLayout, QWidget)

from app.widgets.class_legend import ClassLegend
from app.widgets.folder_field import FolderField
from app.widgets.live_plots import ExitHistogram, LatencyPlot
from app.widgets.threshold_sliders import ThresholdSliders
from core.runtime.video.live_controls import DEADLINE_MS, DEADLINE_RANGE_MS, ConfigView
from core.runtime.video.overlay import exit_colour

OVERLAY_CHOICES = (("outline", "Outlines"), ("high-contrast", "High contrast"), ("plain", "Plain"))
MUTED = "color: #6b7280;"


def default_record_dir() -> str:
    videos = Path.home() / "Videos"
    return str(videos if videos.is_dir() else Path.home())


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#%02x%02x%02x" % rgb


class LiveSidePanel(QWidget):
    """The boxes of the side panel, top to bottom."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        column = QVBoxLayout(self)
        column.addWidget(self._config_box())
        column.addWidget(self._overlay_box())
        column.addWidget(self._plots_box(), 1)
        column.addWidget(self._record_box())

    def _config_box(self) -> QGroupBox:
        box = QGroupBox("Exit configuration", self)
        layout = QVBoxLayout(box)
        self.config_label = QLabel("", box)
        self.config_label.setObjectName("live-config")
        self.config_label.setWordWrap(True)
        self.config_label.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.config_label)
        row = QHBoxLayout()
        self.full_button = QPushButton("Full network", box)
        self.full_button.setCheckable(True)
        self.full_button.setToolTip("Run the whole network on every frame (no early exit), to compare — F")
        self.side_button = QPushButton("Side by side", box)
        self.side_button.setCheckable(True)
        self.side_button.setToolTip("Also run the full network on every frame and show it beside (or below) "
                                    "the early-exit picture, with both latencies — B")
        self.anytime_button = QPushButton("Anytime", box)
        self.anytime_button.setCheckable(True)
        self.anytime_button.setToolTip("Show every kept exit's answer in turn, each as soon as it is ready, "
                                       "refining the overlay from shallow to deep (not with side by side; "
                                       "turns the deadline off) — A")
        row.addWidget(self.full_button)
        row.addWidget(self.side_button)
        row.addWidget(self.anytime_button)
        layout.addLayout(row)
        layout.addLayout(self._deadline_row(box))
        self.sliders = ThresholdSliders(box)
        layout.addWidget(self.sliders)
        self.threshold_note = QLabel("", box)
        self.threshold_note.setWordWrap(True)
        self.threshold_note.setStyleSheet(MUTED)
        layout.addWidget(self.threshold_note)
        return box

    def _deadline_row(self, box: QGroupBox) -> QHBoxLayout:
        row = QHBoxLayout()
        tip = ("Deadline mode: each frame answers at the deepest kept exit that can finish within this many "
               "milliseconds, decided before each step from the latency table of the backend the live view runs on "
               "(measured when none is loaded); the thresholds do not apply, and Anytime turns off. A configuration "
               "of one exit (or none) uses the model's exit points. Off: the configuration runs as before — D")
        self.deadline_check = QCheckBox("Deadline", box)
        self.deadline_check.setObjectName("live-deadline")
        self.deadline_check.setToolTip(tip)
        self.deadline_spin = QDoubleSpinBox(box)
        self.deadline_spin.setObjectName("live-deadline-ms")
        self.deadline_spin.setRange(*DEADLINE_RANGE_MS)
        self.deadline_spin.setDecimals(1)
        self.deadline_spin.setSingleStep(1.0)
        self.deadline_spin.setSuffix(" ms")
        self.deadline_spin.setValue(DEADLINE_MS)
        self.deadline_spin.setKeyboardTracking(False)        # typing 25 does not run a 2 ms deadline first
        self.deadline_spin.setToolTip(f"The deadline in milliseconds ({DEADLINE_RANGE_MS[0]:g} to "
                                      f"{DEADLINE_RANGE_MS[1]:g}): the frame's time from its arrival, reading and "
                                      "resizing included")
        row.addWidget(self.deadline_check)
        row.addWidget(self.deadline_spin)
        row.addStretch(1)
        return row

    def show_deadline(self, on: bool, ms: float) -> None:
        """The deadline control: checked or not, and its milliseconds (set before turning it on, or while on)."""
        if self.deadline_check.isChecked() != on:
            self.deadline_check.blockSignals(True)
            self.deadline_check.setChecked(on)
            self.deadline_check.blockSignals(False)
        if abs(self.deadline_spin.value() - ms) > 1e-9:
            self.deadline_spin.blockSignals(True)
            self.deadline_spin.setValue(ms)
            self.deadline_spin.blockSignals(False)

    def _overlay_box(self) -> QGroupBox:
        box = QGroupBox("Overlay", self)
        layout = QVBoxLayout(box)
        row = QHBoxLayout()
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal, box)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setToolTip("How strongly the class colours cover the frame (0 %: the video only)")
        self.opacity_label = QLabel("50 %", box)
        self.opacity_label.setMinimumWidth(40)
        row.addWidget(QLabel("Opacity", box))
        row.addWidget(self.opacity_slider, 1)
        row.addWidget(self.opacity_label)
        layout.addLayout(row)
        row = QHBoxLayout()
        self.overlay_combo = QComboBox(box)
        for style, title in OVERLAY_CHOICES:
            self.overlay_combo.addItem(title, style)
        self.overlay_combo.setToolTip("Outlines: class boundaries at full opacity (dark classes such as Car stay "
                                      "visible over a road); High contrast: vivid class colours; Plain: the "
                                      "palette blended at the opacity")
        row.addWidget(QLabel("Style", box))
        row.addWidget(self.overlay_combo, 1)
        layout.addLayout(row)
        self.legend = ClassLegend(columns=2, parent=box)
        layout.addWidget(self.legend, 0, Qt.AlignmentFlag.AlignLeft)
        return box

    def _plots_box(self) -> QGroupBox:
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
        layout.addWidget(self.reset_button, 0, Qt.AlignmentFlag.AlignRight)
        return box

    def _record_box(self) -> QGroupBox:
        box = QGroupBox("Recordings", self)
        layout = QVBoxLayout(box)
        self.record_dir = FolderField("Folder for recordings", "folder for recordings",
                                      "Record (Ctrl+R) saves here as mess-live-<date>-<time>.mp4", parent=box)
        layout.addWidget(self.record_dir)
        self.record_label = QLabel("Record (Ctrl+R) saves the annotated frames here.", box)
        self.record_label.setWordWrap(True)
        self.record_label.setStyleSheet(MUTED)
        self.record_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.record_label)
        return box

    def show_config(self, view: ConfigView, *, full_network: bool, side_by_side: bool, anytime: bool = False) -> None:
        """The configuration as coloured chips, the toggles, and whether the sliders apply."""
        chips = [f'<span style="color:{_hex(exit_colour(depth))}; font-size: 16pt;">■</span>&nbsp;<b>{name}</b>'
                 for name, depth in view.exits]
        self.config_label.setText(" › ".join(chips) + f" <span style='color:#6b7280'>{view.caption}</span>")
        self.config_label.setToolTip(view.tooltip + "\nChoose a configuration on the Search page and 'Apply to Live'")
        self.sliders.setEnabled(view.thresholds_enabled)
        self.threshold_note.setText(view.note)
        for button, on in ((self.full_button, full_network), (self.side_button, side_by_side),
                           (self.anytime_button, anytime)):
            if button.isChecked() != on:
                button.blockSignals(True)
                button.setChecked(on)
                button.blockSignals(False)

    def show_overlay(self, opacity: int, style: str) -> None:
        if self.opacity_slider.value() != opacity:
            self.opacity_slider.blockSignals(True)
            self.opacity_slider.setValue(opacity)
            self.opacity_slider.blockSignals(False)
        self.opacity_label.setText(f"{opacity} %")
        index = self.overlay_combo.findData(style)
        if self.overlay_combo.currentIndex() != index:
            self.overlay_combo.blockSignals(True)
            self.overlay_combo.setCurrentIndex(index)
            self.overlay_combo.blockSignals(False)

"""The Live page's side panel: the exit configuration (full network, side by side, thresholds), the
overlay (opacity, style, class legend), the latency plot and exit histogram, and the recordings folder.
Only widgets and how they show a core.runtime.video.live_controls.ConfigView: the page connects them."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QGroupBox, QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout,
                               QWidget)

from app.widgets.class_legend import ClassLegend
from app.widgets.folder_field import FolderField
from app.widgets.live_plots import ExitHistogram, LatencyPlot
from app.widgets.threshold_sliders import ThresholdSliders
from core.runtime.video.live_controls import ConfigView
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
                                       "refining the overlay from shallow to deep (not with side by side) — A")
        row.addWidget(self.full_button)
        row.addWidget(self.side_button)
        row.addWidget(self.anytime_button)
        layout.addLayout(row)
        self.sliders = ThresholdSliders(box)
        layout.addWidget(self.sliders)
        self.threshold_note = QLabel("", box)
        self.threshold_note.setWordWrap(True)
        self.threshold_note.setStyleSheet(MUTED)
        layout.addWidget(self.threshold_note)
        return box

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

"""The Live page's top bar: the source and the transport buttons (start, pause, step, loop, real time,
record, inspect). Only widgets: the page connects them."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QWidget

from app.widgets.source_chooser import SourceChooser

RECORDING_STYLE = "QPushButton { background: #c62828; color: white; font-weight: bold; }"


class LiveSourceBar(QWidget):
    """Source chooser and buttons in one row."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.source = SourceChooser(self)
        self.start_button = QPushButton("Start", self)
        self.start_button.setToolTip("Play the source through the model, or stop — Ctrl+Return")
        self.start_button.setShortcut(QKeySequence("Ctrl+Return"))
        self.start_button.setMinimumWidth(80)
        self.pause_button = QPushButton("Pause", self)
        self.pause_button.setCheckable(True)
        self.pause_button.setToolTip("Pause or play — Space")
        self.step_button = QPushButton("Step", self)
        self.step_button.setToolTip("While paused: process the next frame — . (full stop)")
        self.loop_check = QCheckBox("Loop", self)
        self.loop_check.setToolTip("Start a video file or image folder again at its end")
        self.realtime_check = QCheckBox("Real time", self)
        self.realtime_check.setToolTip("Play a file or folder at its own speed, dropping the frames the model "
                                       "cannot keep up with (off: every frame, as fast as the model goes)")
        self.record_button = QPushButton("Record", self)
        self.record_button.setCheckable(True)
        self.record_button.setToolTip("Record the annotated frames to an .mp4 in the recordings folder (side "
                                      "panel); press again, or Stop, to finish the file — Ctrl+R")
        self.record_button.setShortcut(QKeySequence("Ctrl+R"))
        self.record_button.setMinimumWidth(80)
        self.inspect_button = QPushButton("Inspect", self)
        self.inspect_button.setToolTip("Inspect this frame: every exit's labels and confidence on the Inspect page — I")
        row.addWidget(QLabel("Source:", self))
        row.addWidget(self.source, 1)
        for widget in (self.start_button, self.pause_button, self.step_button, self.loop_check, self.realtime_check,
                       self.record_button, self.inspect_button):
            row.addWidget(widget)

    def show_state(self, *, running: bool, paused: bool, recording: bool) -> None:
        self.start_button.setText("Stop" if running else "Start")
        self.pause_button.setText("Play" if paused else "Pause")
        self.step_button.setEnabled(running and paused)
        self.record_button.setEnabled(running)
        self.record_button.setStyleSheet(RECORDING_STYLE if recording else "")
        self.record_button.setText("● Recording" if recording else "Record")

    def set_quietly(self, button: QPushButton, on: bool) -> None:
        """Check or uncheck ``button`` without its toggled signal."""
        button.blockSignals(True)
        button.setChecked(on)
        button.blockSignals(False)

    def show_source_options(self) -> None:
        files = self.source.kind() in ("file", "folder")
        self.loop_check.setEnabled(files)
        self.realtime_check.setEnabled(files)

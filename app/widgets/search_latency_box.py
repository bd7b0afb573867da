"""The Search page's device latency: measured on this machine, or a latency table from another device."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QButtonGroup, QGroupBox, QHBoxLayout, QLabel, QPushButton, QRadioButton, QStyle, \
    QVBoxLayout, QWidget

from core.search.page_text import NO_TABLE


class LatencySourceBox(QGroupBox):
    """Two choices; ``table_wanted`` asks the page for a table file (Load..., or the table choice with none)."""

    table_wanted = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Device latency", parent)
        self.has_table = False
        layout = QVBoxLayout(self)
        self.here_radio = QRadioButton(self)
        self.here_radio.setToolTip("Measure every segment and head on this machine, on the model's device, with the "
                                   "execution backend of the Runtime menu")
        self.table_radio = QRadioButton("Latency table from another device:", self)
        self.table_radio.setToolTip("Costs from 'mess profile' run on the target device; calibration images are "
                                    "resized to the size it was measured at")
        group = QButtonGroup(self)
        group.addButton(self.here_radio)
        group.addButton(self.table_radio)
        self.here_radio.setChecked(True)
        layout.addWidget(self.here_radio)
        # Under the choice, wrapped: in the radio button's own text it made the panel 400 px wide at least.
        self.here_note = QLabel("measured now, once per model", self)
        self.here_note.setWordWrap(True)
        metric = self.here_radio.style().pixelMetric
        indent = metric(QStyle.PixelMetric.PM_ExclusiveIndicatorWidth) + \
            metric(QStyle.PixelMetric.PM_RadioButtonLabelSpacing)
        self.here_note.setStyleSheet(f"color: #6b7280; margin-left: {indent}px;")      # under the button's text
        layout.addWidget(self.here_note)
        layout.addWidget(self.table_radio)
        row = QHBoxLayout()
        self.table_label = QLabel(NO_TABLE, self)
        self.table_label.setWordWrap(True)
        self.load_table_button = QPushButton("Load...", self)
        self.load_table_button.setToolTip("Load a latency table JSON made by 'mess profile' — Ctrl+L")
        self.load_table_button.setShortcut(QKeySequence("Ctrl+L"))
        self.load_table_button.clicked.connect(self.table_wanted)
        row.addWidget(self.table_label, 1)
        row.addWidget(self.load_table_button)
        layout.addLayout(row)
        self.table_radio.toggled.connect(self._on_table_toggled)

    def show_backend(self, backend: str, precision: str) -> None:
        self.here_radio.setText(f"This machine, {backend} {precision}")

    def show_table(self, text: str, path: str = "", *, loaded: bool) -> None:
        """The imported table in words (its file as the tooltip); ``loaded``: there is one to choose."""
        self.has_table = loaded
        self.table_label.setText(text)
        if path:
            self.table_label.setToolTip(path)

    def use_table(self) -> bool:
        """The table is chosen (and there is one)."""
        return self.table_radio.isChecked() and self.has_table

    def _on_table_toggled(self, use_table: bool) -> None:
        if use_table and not self.has_table:
            self.here_radio.setChecked(True)
            self.table_wanted.emit()

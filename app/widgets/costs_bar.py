"""The line above the Model page's diagram: whose costs are shown and from where, measuring progress,
and the buttons to measure here, cancel, or load a latency table."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QSizePolicy, QWidget

from core.profile.cost_display import CostsText


class CostsBar(QWidget):
    """The costs line and its buttons; the page connects the buttons and says what to show."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.costs_label = QLabel("Costs: none yet", self)
        self.costs_label.setWordWrap(True)
        self.costs_label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.measure_button = QPushButton("Measure here", self)
        self.measure_button.setToolTip("Measure FLOPs and latency of every segment and head on this machine "
                                       "(at the model's input size; once per model) — Ctrl+M")
        self.measure_button.setShortcut(QKeySequence("Ctrl+M"))
        self.load_table_button = QPushButton("Load latency table...", self)
        self.load_table_button.setToolTip("Show latencies from a table made by 'mess profile' on another device "
                                          "— Ctrl+L")
        self.load_table_button.setShortcut(QKeySequence("Ctrl+L"))
        self.progress = QProgressBar(self)
        self.progress.setMaximumWidth(160)
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setToolTip("Stop measuring")
        self.cancel_button.setVisible(False)
        for widget in (self.costs_label, self.progress, self.cancel_button, self.measure_button,
                       self.load_table_button):
            layout.addWidget(widget)

    def set_line(self, text: str, tooltip: str = "") -> None:
        self.costs_label.setText(text)
        self.costs_label.setToolTip(tooltip)

    def show_table(self, text: CostsText) -> None:
        """A table is shown: where it comes from, and the measure button's word for it."""
        self.set_line(text.label, text.tooltip)
        self.measure_button.setText(text.button)

    def measuring(self, text: str) -> None:
        """A measurement runs: a busy bar, Cancel, and no second Measure."""
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.measure_button.setEnabled(False)
        self.costs_label.setText(text)

    def set_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)

    def stopped(self) -> None:
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self.measure_button.setEnabled(True)

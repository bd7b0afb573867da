"""The Search page's run controls: Search, Cancel (and Esc while a search or a speed-up measurement runs), a progress
bar, a status line."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

ERROR_STYLE = "color: #b00020;"


class SearchRunBar(QWidget):
    """Only widgets: the page connects ``search_button``, ``cancel_button`` and ``cancel_shortcut``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.search_button = QPushButton("Search", self)
        self.search_button.setToolTip("Calibrate (or reuse this calibration set's cache in the model folder) and "
                                      "search every configuration — Ctrl+Return")
        self.search_button.setShortcut(QKeySequence("Ctrl+Return"))
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setToolTip("Stop the calibration, the latency measurement or the speed-up measurement — Esc")
        self.cancel_button.setEnabled(False)
        # Esc cancels only while a search runs (otherwise it leaves full screen); a hidden page's shortcut is inactive.
        self.cancel_shortcut = QShortcut(QKeySequence("Esc"), self)
        self.cancel_shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
        self.cancel_shortcut.setEnabled(False)
        row.addWidget(self.search_button, 1)
        row.addWidget(self.cancel_button)
        layout.addLayout(row)
        self.progress = QProgressBar(self)
        self.progress.setVisible(False)
        layout.addWidget(self.progress)
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        self.status.setObjectName("search-status")
        layout.addWidget(self.status)

    def show_message(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(ERROR_STYLE if error else "")

    def set_running(self, running: bool) -> None:
        """Search enabled when idle; Cancel and Esc while running; the progress bar (busy) while running."""
        self.search_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.cancel_shortcut.setEnabled(running)
        if running:
            self.progress.setRange(0, 0)
        self.progress.setVisible(running)

    def show_progress(self, done: int, total: int) -> None:
        """``done`` of ``total``; a busy bar when the total is not known (0)."""
        if total:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
        else:
            self.progress.setRange(0, 0)

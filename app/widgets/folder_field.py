"""A path entry with a Browse button (folder, or file with a filter)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLineEdit, QPushButton, QWidget


class FolderField(QWidget):
    """A line edit for a path plus a Browse button opening a folder dialog (with ``file_filter``, a file dialog).

    ``changed`` comes once per new value: after an edit is finished, a choice in the dialog, or set_text."""

    changed = Signal(str)

    def __init__(self, caption: str, placeholder: str = "", tooltip: str = "", parent: QWidget | None = None, *,
                 file_filter: str | None = None) -> None:
        super().__init__(parent)
        self.caption = caption
        self.file_filter = file_filter
        self._emitted = ""
        self.edit = QLineEdit(self)
        self.edit.setPlaceholderText(placeholder)
        self.edit.setClearButtonEnabled(True)
        self.edit.setToolTip(tooltip)
        self.edit.editingFinished.connect(self._maybe_changed)
        self.browse = QPushButton("Browse...", self)
        self.browse.setToolTip(f"{caption}: choose in a dialog")
        self.browse.clicked.connect(self.choose)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.browse)

    def text(self) -> str:
        return self.edit.text().strip()

    def set_text(self, text: str) -> None:
        self.edit.setText(text)
        self._maybe_changed()

    def _maybe_changed(self) -> None:
        if self.text() != self._emitted:
            self._emitted = self.text()
            self.changed.emit(self._emitted)

    def choose(self) -> None:
        start = self.text()
        while start and not Path(start).is_dir():
            parent = str(Path(start).parent)
            start = "" if parent == start else parent
        if self.file_filter is not None:
            path, _ = QFileDialog.getOpenFileName(self, self.caption, start, self.file_filter)
        else:
            path = QFileDialog.getExistingDirectory(self, self.caption, start)
        if path:
            self.set_text(path)

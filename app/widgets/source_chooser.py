"""Choosing a video source: a webcam index, a video file, a folder of images, or a stream URL.

The kind is picked in a combo box (the kinds of core.runtime.video.sources.SOURCES); each
kind keeps its own value, so going back to a kind finds what was there. ``changed``
comes once per new choice (a kind picked, an edit finished, a file chosen).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QLineEdit, QSpinBox, QStackedWidget, QWidget

from app.widgets.folder_field import FolderField
from core.runtime.video.sources import IMAGE_EXTENSIONS

KINDS = (("webcam", "Webcam"), ("file", "Video file"), ("folder", "Image folder"), ("rtsp", "Stream URL"))
VIDEO_FILTER = ("Videos (*.mp4 *.m4v *.mov *.avi *.mkv *.webm *.mpg *.mpeg *.wmv);;"
                f"Images ({' '.join('*' + e for e in IMAGE_EXTENSIONS)});;All files (*)")


class FileField(FolderField):
    """A FolderField whose Browse button picks a file."""

    def __init__(self, caption: str, placeholder: str = "", tooltip: str = "", file_filter: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(caption, placeholder, tooltip, parent=parent)
        self.file_filter = file_filter

    def choose(self) -> None:
        start = self.text()
        while start and not Path(start).exists():
            parent = str(Path(start).parent)
            start = "" if parent == start else parent
        path, _ = QFileDialog.getOpenFileName(self, self.caption, start, self.file_filter)
        if path:
            self.set_text(path)


class SourceChooser(QWidget):
    """Kind combo + the kind's own input; ``kind()`` and ``spec()`` are what
    core.runtime.video.sources.open_source takes."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind_combo = QComboBox(self)
        for kind, title in KINDS:
            self.kind_combo.addItem(title, kind)
        self.kind_combo.setToolTip("What to play: a webcam, a video file, a folder of images (in name order) "
                                   "or a network stream (rtsp://, http://)")
        self.webcam = QSpinBox(self)
        self.webcam.setRange(0, 99)
        self.webcam.setKeyboardTracking(False)
        self.webcam.setPrefix("camera ")
        self.webcam.setToolTip("The webcam's index: 0 is the first camera")
        self.file = FileField("Open a video file", "video file (mp4, avi, mkv, mov...)",
                              "A video file, played through the model (Loop and Real time apply)",
                              file_filter=VIDEO_FILTER, parent=self)
        self.folder = FolderField("Choose a folder of images", "folder of images",
                                  "A folder of images (png, jpg...), played in name order", parent=self)
        self.url = QLineEdit(self)
        self.url.setPlaceholderText("rtsp://camera.local:554/stream  or  http://.../video.mjpg")
        self.url.setClearButtonEnabled(True)
        self.url.setToolTip("A network stream: rtsp://, rtsps://, http:// or https:// (connecting can take up to 5 s)")
        self._url_emitted = ""
        self.stack = QStackedWidget(self)
        self.inputs = {"webcam": self.webcam, "file": self.file, "folder": self.folder, "rtsp": self.url}
        for kind, _ in KINDS:
            self.stack.addWidget(self.inputs[kind])
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.kind_combo)
        layout.addWidget(self.stack, 1)
        self.kind_combo.currentIndexChanged.connect(self._on_kind)
        self.webcam.valueChanged.connect(lambda _: self.changed.emit())
        self.file.changed.connect(lambda _: self.changed.emit())
        self.folder.changed.connect(lambda _: self.changed.emit())
        self.url.editingFinished.connect(self._on_url)

    def kind(self) -> str:
        return self.kind_combo.currentData()

    def spec(self) -> str:
        """The chosen source as open_source takes it ('' when nothing is entered for this kind)."""
        kind = self.kind()
        if kind == "webcam":
            return str(self.webcam.value())
        if kind == "rtsp":
            return self.url.text().strip()
        return self.inputs[kind].text()

    def describe(self) -> str:
        return f"webcam {self.webcam.value()}" if self.kind() == "webcam" else self.spec()

    def set_source(self, kind: str, spec: str | int) -> None:
        """Choose ``kind`` with ``spec`` (as a user would: ``changed`` follows)."""
        self.blockSignals(True)
        try:
            self._set_value(kind, str(spec))
            self.kind_combo.setCurrentIndex(self.kind_combo.findData(kind))
        finally:
            self.blockSignals(False)
        self.changed.emit()

    def _set_value(self, kind: str, spec: str) -> None:
        if kind == "webcam":
            self.webcam.setValue(int(spec) if spec.strip().isdigit() else 0)
        elif kind == "rtsp":
            self.url.setText(spec)
            self._url_emitted = spec.strip()
        else:
            self.inputs[kind].set_text(spec)

    def _on_kind(self, index: int) -> None:
        self.stack.setCurrentIndex(index)
        self.changed.emit()

    def _on_url(self) -> None:
        if self.url.text().strip() != self._url_emitted:
            self._url_emitted = self.url.text().strip()
            self.changed.emit()

    # --- settings ---------------------------------------------------------------------------------
    def restore(self, settings, prefix: str) -> None:
        self.blockSignals(True)
        try:
            for kind, _ in KINDS:
                value = settings.get(f"{prefix}/{kind}", "")
                if value != "":
                    self._set_value(kind, str(value))
            index = self.kind_combo.findData(settings.get(f"{prefix}/kind", "file"))
            self.kind_combo.setCurrentIndex(max(index, 0))
            self.stack.setCurrentIndex(self.kind_combo.currentIndex())
        finally:
            self.blockSignals(False)

    def save(self, settings, prefix: str) -> None:
        settings.set(f"{prefix}/kind", self.kind())
        settings.set(f"{prefix}/webcam", self.webcam.value())
        settings.set(f"{prefix}/file", self.file.text())
        settings.set(f"{prefix}/folder", self.folder.text())
        settings.set(f"{prefix}/rtsp", self.url.text().strip())

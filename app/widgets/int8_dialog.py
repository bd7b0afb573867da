"""Runtime > Calibrate int8: the footage, image count and scheme of an int8 calibration ('mess quantize')."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLabel, QLineEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from app.settings import Settings
from core.data.video_frames import VIDEO_SUFFIXES
from core.deploy.quantize import DEFAULT_IMAGES, DEFAULT_SCHEME, SCHEMES

SOURCE_KEY, COUNT_KEY, SCHEME_KEY = "int8/source", "int8/count", "int8/scheme"
MAX_IMAGES = 1000


class Int8CalibrationDialog(QDialog):
    """Asks for what `mess quantize --images SRC --count N --scheme S` takes; remembers the answers."""

    def __init__(self, settings: Settings, input_size: tuple[int, int], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("int8-dialog")
        self.setWindowTitle("Calibrate int8")
        self.settings = settings
        h, w = input_size
        intro = QLabel(f"int8 graphs of the open model at {h}x{w}, calibrated on footage like what it will run "
                       "on (not the images it is evaluated on). This replaces any earlier int8 calibration of "
                       "this model at this size; the command line does the same with 'mess quantize'.", self)
        intro.setWordWrap(True)
        self.source = QLineEdit(settings.get(SOURCE_KEY, ""), self)
        self.source.setObjectName("int8-source")
        self.source.setPlaceholderText("an image folder or a video")
        self.source.setClearButtonEnabled(True)
        folder_button = QPushButton("Folder...", self)
        folder_button.clicked.connect(self.choose_folder)
        video_button = QPushButton("Video...", self)
        video_button.clicked.connect(self.choose_video)
        source_row = QHBoxLayout()
        source_row.addWidget(self.source, 1)
        source_row.addWidget(folder_button)
        source_row.addWidget(video_button)
        self.count = QSpinBox(self)
        self.count.setObjectName("int8-count")
        self.count.setRange(1, MAX_IMAGES)
        self.count.setValue(settings.get(COUNT_KEY, DEFAULT_IMAGES, minimum=1, maximum=MAX_IMAGES))
        self.count.setToolTip("images (or video frames) taken, evenly spaced over the footage")
        self.scheme = QComboBox(self)
        self.scheme.setObjectName("int8-scheme")
        for name, scheme in SCHEMES.items():
            self.scheme.addItem(f"{name}: {scheme.description}" + (" (default)" if name == DEFAULT_SCHEME else ""),
                                name)
        remembered = settings.get(SCHEME_KEY, DEFAULT_SCHEME, choices=tuple(SCHEMES))
        self.scheme.setCurrentIndex(self.scheme.findData(remembered))
        form = QFormLayout()
        form.addRow("Footage", source_row)
        form.addRow("Images", self.count)
        form.addRow("Scheme", self.scheme)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Calibrate")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.source.textChanged.connect(self._update_ok)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self._update_ok()

    def _update_ok(self) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(bool(self.source.text().strip()))

    def _start_folder(self) -> str:
        start = Path(self.source.text().strip() or ".")
        return str(start if start.is_dir() else start.parent)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Calibration images", self._start_folder())
        if folder:
            self.source.setText(folder)

    def choose_video(self) -> None:
        patterns = " ".join(f"*{suffix}" for suffix in VIDEO_SUFFIXES)
        path, _ = QFileDialog.getOpenFileName(self, "Calibration video", self._start_folder(),
                                              f"Videos ({patterns})")
        if path:
            self.source.setText(path)

    def values(self) -> tuple[str, int, str]:
        """(footage, image count, scheme) as chosen."""
        return self.source.text().strip(), self.count.value(), self.scheme.currentData()

    def accept(self) -> None:
        source, count, scheme = self.values()
        if not source:
            return
        self.settings.set(SOURCE_KEY, source)
        self.settings.set(COUNT_KEY, count)
        self.settings.set(SCHEME_KEY, scheme)
        super().accept()

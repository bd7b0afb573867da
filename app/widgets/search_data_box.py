"""The Search page's calibration data: a labelled split, or (label-free) your own footage, and how many images."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QComboBox, QFileDialog, QFormLayout, QGroupBox, QPushButton, QSpinBox, QWidget

from app.widgets.folder_field import FolderField
from core.search.calibration import FINAL_EXIT_REFERENCE, LABELS

VIDEO_FILTER = "Videos (*.mp4 *.avi *.mov *.mkv *.webm *.m4v);;All files (*)"


class CalibrationDataBox(QGroupBox):
    """What to calibrate on: reference (labels or the final exit), folder or video, split, image limit."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Calibration data", parent)
        form = QFormLayout(self)
        self.reference_combo = QComboBox(self)
        self.reference_combo.addItem("Labelled dataset", LABELS)
        self.reference_combo.addItem("Your footage, label-free", FINAL_EXIT_REFERENCE)
        self.reference_combo.setToolTip(
            "Labelled: a dataset split with masks. Label-free: an image folder or a video from the camera you "
            "will run on; each exit is scored against the final exit's prediction, so mIoU means agreement "
            "with the full network (as 'mess search --unlabelled')")
        self.reference_combo.currentIndexChanged.connect(self._on_reference_changed)
        form.addRow("Calibrate on:", self.reference_combo)
        self.data_field = FolderField("Calibration dataset folder", "labelled dataset folder",
                                      "A labelled dataset (CamVid, Cityscapes, VOC or image/mask folders); "
                                      "its split calibrates the search", parent=self)
        self.video_button = QPushButton("Video...", self.data_field)
        self.video_button.setToolTip("Choose a video file to calibrate on (label-free)")
        self.video_button.clicked.connect(self._choose_video)
        self.data_field.layout().addWidget(self.video_button)
        form.addRow("Folder:", self.data_field)
        self.split_combo = QComboBox(self)
        self.split_combo.setEditable(True)
        self.split_combo.addItems(["val", "train", "test"])
        self.split_combo.setToolTip("The split to calibrate on (labelled images the model was not trained on)")
        form.addRow("Split:", self.split_combo)
        self.limit_spin = QSpinBox(self)
        self.limit_spin.setRange(0, 100_000)
        self.limit_spin.setSpecialValueText("all")
        self.limit_spin.setSuffix(" images")
        self.limit_spin.setToolTip("A quick search calibrates on this many images, evenly spaced over the split "
                                   "('all' = every image; as 'mess search --limit N')")
        form.addRow("Images:", self.limit_spin)
        self._on_reference_changed()

    def label_free(self) -> bool:
        return self.reference_combo.currentData() == FINAL_EXIT_REFERENCE

    def reference(self) -> str:
        return self.reference_combo.currentData()

    def split(self) -> str:
        return self.split_combo.currentText().strip() or "val"

    def limit(self) -> int | None:
        """How many images to calibrate on; None: all."""
        return self.limit_spin.value() or None

    def _on_reference_changed(self) -> None:
        free = self.label_free()
        self.split_combo.setEnabled(not free)
        self.video_button.setVisible(free)
        self.data_field.edit.setPlaceholderText("image folder or video file" if free else "labelled dataset folder")

    def _choose_video(self) -> None:
        start = self.data_field.text()
        path, _ = QFileDialog.getOpenFileName(self, "Calibration video", str(Path(start).parent) if start else "",
                                              VIDEO_FILTER)
        if path:
            self.data_field.set_text(path)

    # --- settings -------------------------------------------------------------------------------
    def restore(self, settings) -> None:
        index = self.reference_combo.findData(settings.get("search/reference", LABELS))
        self.reference_combo.setCurrentIndex(max(index, 0))
        self.data_field.set_text(settings.get("search/data", ""))
        self.split_combo.setCurrentText(settings.get("search/split", "val"))
        self.limit_spin.setValue(settings.get("search/limit", 20, minimum=self.limit_spin.minimum(),
                                              maximum=self.limit_spin.maximum()))

    def save_settings(self, settings) -> None:
        settings.set("search/reference", self.reference())
        settings.set("search/data", self.data_field.text())
        settings.set("search/split", self.split_combo.currentText())
        settings.set("search/limit", self.limit_spin.value())

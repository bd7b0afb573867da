"""The Model page's "Convert a backbone" form: what `mess convert` asks for, converted on a worker.

The fields become a core ConvertRequest; core checks them (one-line errors shown under the
button) and ``Conversion.run`` builds the model folder. ``converted`` carries the new folder.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QLineEdit, QProgressBar, QPushButton, QWidget)

from app.widgets.folder_field import FolderField
from app.workers import JobWorker, start_job
from core.data.classes import CLASS_SETS
from core.errors import MessError
from core.models import BACKBONES, HEAD_PRESETS
from core.models.convert_request import ConvertRequest

CLASSES_FILE_ITEM = "classes.json file..."
PREFIX = "model/convert/"


class ConvertForm(QGroupBox):
    """Backbone, class set, heads, input size, weights and output folder; Convert runs on a worker."""

    converted = Signal(str)          # the model folder written

    def __init__(self, settings, parent: QWidget | None = None) -> None:
        super().__init__("Convert a backbone", parent)
        self.settings = settings
        self.classes_file = ""
        self._worker: JobWorker | None = None
        self.setToolTip("Build a registered backbone as a multi-exit network and save it as a model folder "
                        "(what 'mess convert' does); the new model is then opened")
        form = QFormLayout(self)
        self.backbone_combo = QComboBox(self)
        for name in BACKBONES:
            self.backbone_combo.addItem(name)
            self.backbone_combo.setItemData(self.backbone_combo.count() - 1, BACKBONES.get(name).description,
                                            Qt.ItemDataRole.ToolTipRole)
        self.backbone_combo.setToolTip("Registered backbone")
        form.addRow("Backbone:", self.backbone_combo)
        self.classes_combo = QComboBox(self)
        self.classes_combo.addItems(list(CLASS_SETS.names()) + [CLASSES_FILE_ITEM])
        self.classes_combo.setToolTip("Class set: a registered one, or a classes.json file "
                                      "({names, palette, ignore_index})")
        self.classes_combo.activated.connect(self._on_classes_chosen)
        form.addRow("Classes:", self.classes_combo)
        self.heads_combo = QComboBox(self)
        self.heads_combo.setEditable(True)
        for name in HEAD_PRESETS:
            self.heads_combo.addItem(name)
            keys = ", ".join(h.key() for h in HEAD_PRESETS.get(name))
            self.heads_combo.setItemData(self.heads_combo.count() - 1, keys, Qt.ItemDataRole.ToolTipRole)
        self.heads_combo.setToolTip("Heads at every candidate point: a preset, or comma-separated head keys "
                                    "such as fcn-c128-b2-rdi,dlb-c64-b1")
        form.addRow("Heads:", self.heads_combo)
        self.size_edit = QLineEdit("360x480", self)
        self.size_edit.setPlaceholderText("H×W, e.g. 360x480 (empty: any)")
        self.size_edit.setToolTip("The input size the model is meant for, height x width (HxW, as "
                                  "'mess convert --input' reads it; empty: none)")
        form.addRow("Input size (H×W):", self.size_edit)
        form.addRow("Weights:", self._weights_row())
        self.out_field = FolderField("Model folder to create", "new model folder",
                                     "The model folder to write (model.json + weights.safetensors)", parent=self)
        form.addRow("Output:", self.out_field)
        self.replace_check = QCheckBox("Replace a model in that folder", self)
        self.replace_check.setToolTip("Allow writing into a folder that is not empty (as 'mess convert --force')")
        form.addRow("", self.replace_check)
        row = QHBoxLayout()
        self.convert_button = QPushButton("Convert", self)
        self.convert_button.setToolTip("Build and save the model, then open it — Ctrl+Shift+C")
        self.convert_button.setShortcut(QKeySequence("Ctrl+Shift+C"))
        self.convert_button.clicked.connect(self.convert)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 0)
        self.progress.setVisible(False)
        row.addWidget(self.convert_button)
        row.addWidget(self.progress, 1)
        form.addRow(row)
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        form.addRow(self.status)
        self._restore_settings()

    def _weights_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.weights_edit = QLineEdit(self)
        self.weights_edit.setPlaceholderText("random initialisation")
        self.weights_edit.setToolTip("Optional local safetensors file with torchvision-named weights "
                                     "(nothing is downloaded)")
        button = QPushButton("...", self)
        button.setToolTip("Choose a weights file")
        button.setMaximumWidth(32)
        button.clicked.connect(self._choose_weights)
        row.addWidget(self.weights_edit, 1)
        row.addWidget(button)
        return row

    # --- settings -----------------------------------------------------------------------------
    def _file_chosen(self) -> bool:
        """The class set is the classes.json file item (the last one), not a registered set."""
        return self.classes_combo.currentIndex() >= len(CLASS_SETS)

    def _restore_settings(self) -> None:
        s = self.settings
        backbone = s.get(PREFIX + "backbone", "mobilenet_v3_large")
        if backbone in BACKBONES:
            self.backbone_combo.setCurrentText(backbone)
        self.classes_file = s.get(PREFIX + "classes_file", "")
        classes = s.get(PREFIX + "classes", "camvid")
        if classes in CLASS_SETS:
            self.classes_combo.setCurrentText(classes)
        elif classes == CLASSES_FILE_ITEM and self.classes_file:
            self._set_classes_file(self.classes_file)
        self.heads_combo.setCurrentText(s.get(PREFIX + "heads", "light"))
        self.size_edit.setText(s.get(PREFIX + "input", "360x480"))
        self.out_field.set_text(s.get(PREFIX + "out", ""))
        self.weights_edit.setText(s.get(PREFIX + "weights", ""))

    def save_settings(self) -> None:
        s = self.settings
        s.set(PREFIX + "backbone", self.backbone_combo.currentText())
        s.set(PREFIX + "classes", CLASSES_FILE_ITEM if self._file_chosen() else self.classes_combo.currentText())
        s.set(PREFIX + "classes_file", self.classes_file)
        s.set(PREFIX + "heads", self.heads_combo.currentText())
        s.set(PREFIX + "input", self.size_edit.text())
        s.set(PREFIX + "out", self.out_field.text())
        s.set(PREFIX + "weights", self.weights_edit.text())

    # --- choosing files -----------------------------------------------------------------------
    def _on_classes_chosen(self, index: int) -> None:
        if self.classes_combo.itemText(index) != CLASSES_FILE_ITEM:
            return
        path, _ = QFileDialog.getOpenFileName(self, "Class set (classes.json)", self.classes_file,
                                              "Class sets (*.json);;All files (*)")
        if path:
            self._set_classes_file(path)
        elif not self.classes_file:
            self.classes_combo.setCurrentIndex(0)

    def _set_classes_file(self, path: str) -> None:
        self.classes_file = path
        index = self.classes_combo.count() - 1
        self.classes_combo.setItemText(index, CLASSES_FILE_ITEM if not path else f"{Path(path).name} (file)")
        self.classes_combo.setItemData(index, path, Qt.ItemDataRole.ToolTipRole)
        self.classes_combo.setCurrentIndex(index)

    def _choose_weights(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Weights (torchvision names, safetensors)",
                                              self.weights_edit.text(),
                                              "safetensors (*.safetensors);;All files (*)")
        if path:
            self.weights_edit.setText(path)

    # --- converting ---------------------------------------------------------------------------
    def request(self) -> ConvertRequest:
        """The fields as typed."""
        return ConvertRequest(self.backbone_combo.currentText(), self.out_field.text(),
                              self.classes_file if self._file_chosen() else self.classes_combo.currentText(),
                              heads=self.heads_combo.currentText(), input_size=self.size_edit.text(),
                              weights=self.weights_edit.text(), replace=self.replace_check.isChecked())

    def convert(self) -> None:
        """Convert on a worker as 'mess convert' does; ``converted`` follows."""
        if self._worker is not None and self._worker.is_running():
            return
        try:
            conversion = self.request().check()
        except MessError as exc:
            self._failed(str(exc).splitlines()[0])
            return
        self.convert_button.setEnabled(False)
        self.progress.setVisible(True)
        self.status.setStyleSheet("")
        self.status.setText(f"Converting {conversion.backbone}...")
        self._worker = start_job(lambda token: conversion.run(), "convert", self, succeeded=self._converted,
                                 failed=self._failed, finished=self._finished)

    def _converted(self, out: str) -> None:
        self.status.setStyleSheet("")
        self.status.setText(f"Saved {out}; opening it.")
        self.converted.emit(out)

    def _failed(self, message: str) -> None:
        self.status.setStyleSheet("color: #b00020;")
        self.status.setText(message)

    def _finished(self) -> None:
        self.convert_button.setEnabled(True)
        self.progress.setVisible(False)

    def shutdown(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            self._worker.wait(60_000)

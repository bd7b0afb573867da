"""The Model page's "Open model" box: the open button, the model's summary lines and its classes."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QPushButton, QVBoxLayout, QWidget

from app.widgets.class_legend import ClassLegend
from core.models.summary import ModelSummary
from core.models.summary_lines import ROWS, summary_lines


class ModelSummaryBox(QGroupBox):
    """'Open model folder...' and what is open: one selectable label per summary line, a class legend."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Open model", parent)
        layout = QVBoxLayout(self)
        self.open_button = QPushButton("Open model folder...", self)
        self.open_button.setToolTip("Open a model folder (model.json + weights.safetensors) — Ctrl+O")
        layout.addWidget(self.open_button)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.info_labels: dict[str, QLabel] = {}
        for key, title in ROWS:
            label = QLabel("–", self)
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.info_labels[key] = label
            form.addRow(f"{title}:", label)
        layout.addLayout(form)
        self.classes_title = QLabel("Classes:", self)
        layout.addWidget(self.classes_title)
        self.legend = ClassLegend(2, self)
        layout.addWidget(self.legend)

    def show_summary(self, summary: ModelSummary, folder: str) -> None:
        """The summary's lines; the name's tooltip is the model folder."""
        shown = summary_lines(summary)
        for key, text in shown.lines.items():
            self.info_labels[key].setText(text)
        self.info_labels["name"].setToolTip(folder)
        self.classes_title.setText(shown.classes_title)
        self.legend.set_classes(summary.classes)

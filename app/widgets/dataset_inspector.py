"""The Inspect page's dataset view: every exit over a labelled split (core.inspect.dataset).

A heat map of per-exit per-class IoU with each exit's mIoU and agreement with the final exit (a
table whose cells are coloured by value, as `mess inspect --data` draws it), and the images where the
early exits fail most; choosing one emits ``image_chosen(image, label)`` for the frame view.
The work is ``dataset_job`` on a worker; settings (folder, split, image limit) persist.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QFormLayout, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QListWidget, QListWidgetItem, QPushButton, QSpinBox, QSplitter, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from app.widgets.folder_field import FolderField
from app.workers import JobWorker, start_job
from core.inspect.dataset import DEFAULT_WORST, DatasetInspection, dataset_job
from core.inspect.heatmap import value_colour
from core.jobs import Progress
from core.models.spec import FINAL_EXIT


class DatasetInspector(QWidget):
    image_chosen = Signal(str, str)      # image path, label path

    def __init__(self, state, settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state, self.settings = state, settings
        self.inspection: DatasetInspection | None = None
        self._worker: JobWorker | None = None
        self.folder = FolderField("Labelled dataset folder", "a CamVid-like folder (train/val with annotations)",
                                  "The labelled dataset to run every exit over", parent=self)
        self.folder.set_text(settings.get("inspect/dataset", ""))
        self.split = QLineEdit(settings.get("inspect/split", "val"), self)
        self.split.setToolTip("The split (val, train, or train+val)")
        self.limit = QSpinBox(self)
        self.limit.setRange(0, 100_000)
        self.limit.setSpecialValueText("every image")
        self.limit.setValue(settings.get("inspect/limit", 0, minimum=0, maximum=100_000))
        self.limit.setToolTip("Only the first N images (0: all)")
        self.run_button = QPushButton("Inspect dataset", self)
        self.run_button.setToolTip("Run every exit over the split (Ctrl+Shift+D); again to cancel")
        self.run_button.clicked.connect(self.start_or_cancel)
        form = QFormLayout()
        form.addRow("Dataset:", self.folder)
        row = QHBoxLayout()
        row.addWidget(QLabel("Split:", self))
        row.addWidget(self.split)
        row.addWidget(QLabel("Images:", self))
        row.addWidget(self.limit)
        row.addStretch(1)
        row.addWidget(self.run_button)
        form.addRow(row)
        self.table = QTableWidget(0, 0, self)
        self.table.setObjectName("dataset-heatmap")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.worst = QListWidget(self)
        self.worst.setObjectName("dataset-worst")
        self.worst.setToolTip("Where the early exits fail most (mean mIoU drop against the final exit); "
                              "click one (or Enter) to inspect the image")
        self.worst.itemClicked.connect(self._on_worst_chosen)
        self.worst.itemActivated.connect(self._on_worst_chosen)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.table)
        splitter.addWidget(self.worst)
        splitter.setSizes([520, 200])
        self.status = QLabel("Choose a labelled dataset folder and press Inspect dataset.", self)
        self.status.setObjectName("dataset-status")
        self.status.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.status)

    @property
    def busy(self) -> bool:
        return self._worker is not None and self._worker.active()

    def show_message(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #b00020;" if error else "")

    def start_or_cancel(self) -> None:
        if self.busy:
            self._worker.cancel()
            return
        self.start()

    def start(self) -> bool:
        if self.state.net is None:
            self.show_message("open a model first", error=True)
            return False
        data, split = self.folder.text(), self.split.text().strip() or "val"
        if not data:
            self.show_message("choose the labelled dataset folder first", error=True)
            return False
        limit = self.limit.value() or None
        self.settings.set("inspect/dataset", data)
        self.settings.set("inspect/split", split)
        self.settings.set("inspect/limit", self.limit.value())
        net, backend, precision = self.state.net, self.state.backend, self.state.precision
        self.show_message(f"inspecting every exit over {data} ({split}) on {backend} ...")
        self.run_button.setText("Cancel")
        self._worker = start_job(
            lambda token: dataset_job(net, data, split, limit=limit, backend=backend, precision=precision,
                                      cancel=token),
            "inspect-dataset", self, progress=self._on_progress, succeeded=self.show_inspection,
            failed=lambda text: self.show_message(text, error=True),
            finished=lambda: self.run_button.setText("Inspect dataset"))
        return True

    def _on_progress(self, event: Progress) -> None:
        self.show_message(event.message)

    def show_inspection(self, inspection: DatasetInspection) -> None:
        self.inspection = inspection
        columns = [*inspection.classes, "mIoU", "agree"]
        self.table.setColumnCount(len(columns))
        self.table.setRowCount(len(inspection.exits))
        self.table.setHorizontalHeaderLabels(columns)
        self.table.setVerticalHeaderLabels(inspection.exits)
        for row, exit_id in enumerate(inspection.exits):
            values = [*inspection.iou[row].tolist(), inspection.miou[exit_id], inspection.agreement[exit_id]]
            for column, value in enumerate(values):
                missing = value != value
                item = QTableWidgetItem("-" if missing else f"{value:.1f}")
                colour = value_colour(value)
                item.setBackground(QColor(*colour))
                dark = 0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2] < 128
                item.setForeground(QColor("white" if dark else "black"))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                item.setToolTip(f"{exit_id}, {columns[column]}: " + ("absent" if missing else f"{value:.2f} %"))
                self.table.setItem(row, column, item)
        self.worst.clear()
        for record in inspection.worst(DEFAULT_WORST):
            item = QListWidgetItem(f"{record.drop:5.1f} pp   {Path(record.image).name}   "
                                   f"(worst: {record.worst_exit}, final {record.miou[FINAL_EXIT]:.1f} %)")
            item.setData(Qt.ItemDataRole.UserRole, (record.image, record.mask))
            self.worst.addItem(item)
        self.show_message(f"{len(inspection.images)} images: the final exit {inspection.miou[FINAL_EXIT]:.1f} % mIoU. "
                          "Below, the images where the early exits fail most: click one to inspect it.")

    def _on_worst_chosen(self, item: QListWidgetItem) -> None:
        image, mask = item.data(Qt.ItemDataRole.UserRole)
        self.image_chosen.emit(image, mask)

    def shutdown(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            self._worker.wait()

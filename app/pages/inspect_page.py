"""The Inspect page: one frame through every exit at once, with the confidence that decided.

It displays core.inspect: the session (which image or video frame, which label) is
``InspectSession``; the work (backend pieces, every exit, the grid picture) is
``inspection_job`` on a worker. The grid is the picture `mess inspect` writes; the table
beside it lists every exit's figures, and clicking a row scrolls the grid to that exit.
The configuration is the one the Live page runs (AppState.config): its thresholds decide
where the frame leaves. The Dataset tab (app.widgets.dataset_inspector) runs every exit over a
labelled split; an image it lists opens here with its label.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (QAbstractItemView, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QPushButton,
                               QScrollArea, QSlider, QSpinBox, QSplitter, QTableWidget, QTableWidgetItem,
                               QTabWidget, QVBoxLayout, QWidget)

from app.live_worker import to_qimage
from app.pages import PAGES, Page, PageEntry
from app.widgets.dataset_inspector import DatasetInspector
from app.workers import JobWorker, start_job
from core.errors import MessError
from core.inspect.session import InspectOutcome, InspectSession, inspection_job

MEDIA_FILTER = "Images and videos (*.png *.jpg *.jpeg *.bmp *.mp4 *.avi *.mov *.mkv *.webm *.m4v);;All files (*)"
LABEL_FILTER = "Label images (*.png *.bmp);;All files (*)"
COLUMNS = ("exit", "image conf", "th_img", "leaves", "mIoU %", "agrees %")
SCRUB_DELAY_MS = 200


class InspectPage(Page):
    title = "Inspect"

    def __init__(self, state, settings, parent: QWidget | None = None) -> None:
        super().__init__(state, settings, parent)
        self.session = InspectSession()
        self.outcome: InspectOutcome | None = None
        self._pixmap: QPixmap | None = None
        self._worker: JobWorker | None = None
        self._again = False
        self._scrub = QTimer(self, singleShot=True, interval=SCRUB_DELAY_MS, timeout=self.refresh)
        self._build()
        state.model_changed.connect(self.refresh)
        state.config_changed.connect(lambda _config: self.refresh())
        state.backend_changed.connect(lambda *_: self.refresh())
        state.inspect_requested.connect(self.inspect_image)
        QShortcut(QKeySequence("Ctrl+Shift+O"), self, activated=self.choose_source)
        QShortcut(QKeySequence("Ctrl+S"), self, activated=self.save_grid)
        QShortcut(QKeySequence("Ctrl+Shift+D"), self, activated=self.inspect_dataset)

    # --- building -----------------------------------------------------------------------
    def _build(self) -> None:
        self.open_button = QPushButton("Open image or video...", self)
        self.open_button.setToolTip("An image file, or a video to scrub through (Ctrl+Shift+O)")
        self.open_button.clicked.connect(self.choose_source)
        self.label_button = QPushButton("Label...", self)
        self.label_button.setToolTip("A label image of class indices for this frame: error maps and mIoU per exit")
        self.label_button.clicked.connect(self.choose_label)
        self.clear_label_button = QPushButton("No label", self)
        self.clear_label_button.clicked.connect(lambda: self.set_label(None))
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setObjectName("inspect-frame-slider")
        self.frame_box = QSpinBox(self)
        self.frame_box.setPrefix("frame ")
        self.slider.valueChanged.connect(self.frame_box.setValue)
        self.frame_box.valueChanged.connect(self.slider.setValue)
        self.frame_box.valueChanged.connect(self._on_frame_chosen)
        self.save_button = QPushButton("Save grid...", self)
        self.save_button.setToolTip("The grid as a PNG and the per-exit figures as JSON beside it (Ctrl+S)")
        self.save_button.clicked.connect(self.save_grid)
        bar = QHBoxLayout()
        for widget in (self.open_button, self.label_button, self.clear_label_button):
            bar.addWidget(widget)
        bar.addWidget(self.slider, 1)
        bar.addWidget(self.frame_box)
        bar.addWidget(self.save_button)

        self.picture = QLabel("Open an image or a video (or use 'Inspect this frame' on the Live page) to see "
                              "the frame through every exit.", self)
        self.picture.setObjectName("inspect-grid")
        self.picture.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter)
        self.picture.setWordWrap(True)
        self.scroll = QScrollArea(self)
        self.scroll.setWidget(self.picture)
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)   # fitted to the width
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("inspect-table")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.cellClicked.connect(lambda row, _col: self.show_exit(row))
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.scroll)
        splitter.addWidget(self.table)
        splitter.setStretchFactor(0, 3)
        splitter.setSizes([860, 520])
        self.dataset = DatasetInspector(self.state, self.settings, self)
        self.dataset.image_chosen.connect(self.inspect_labelled)
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("inspect-tabs")
        frame_tab = QWidget(self)
        frame_layout = QVBoxLayout(frame_tab)
        frame_layout.setContentsMargins(0, 4, 0, 0)
        frame_layout.addLayout(bar)
        frame_layout.addWidget(splitter, 1)
        self.tabs.addTab(frame_tab, "Frame")
        self.tabs.addTab(self.dataset, "Dataset")
        self.status = QLabel("", self)
        self.status.setObjectName("inspect-status")
        self.status.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.status)
        self._update_controls()

    def _update_controls(self) -> None:
        video = self.session.is_video
        for widget in (self.slider, self.frame_box):
            widget.setEnabled(video)
            widget.blockSignals(True)
            widget.setMaximum(max(0, self.session.frames - 1))
            widget.setValue(self.session.frame)
            widget.blockSignals(False)
        self.label_button.setEnabled(self.session.ready)
        self.clear_label_button.setEnabled(self.session.label is not None)
        self.save_button.setEnabled(self.outcome is not None)

    def show_message(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #b00020;" if error else "")

    # --- choosing what to inspect ------------------------------------------------------------
    def choose_source(self) -> None:
        start = self.settings.get("inspect/folder", str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(self, "Image or video to inspect", start, MEDIA_FILTER)
        if path:
            self.open_source(path)

    def open_source(self, path: str | Path) -> bool:
        try:
            self.session.open(path)
        except MessError as exc:
            self.show_message(str(exc), error=True)
            return False
        self.settings.set("inspect/folder", str(Path(path).parent))
        self._update_controls()
        self.refresh()
        return True

    def inspect_labelled(self, image: str, label: str) -> bool:
        """An image of the dataset view with its label, on the Frame tab."""
        try:
            self.session.open(image)
            self.session.set_label(label)
        except MessError as exc:
            self.show_message(str(exc), error=True)
            return False
        self.tabs.setCurrentIndex(0)
        self._update_controls()
        self.refresh()
        return True

    def inspect_dataset(self) -> None:
        self.tabs.setCurrentWidget(self.dataset)
        self.dataset.start_or_cancel()

    def inspect_image(self, image, name: str) -> None:
        """A frame handed over (the Live page's 'Inspect this frame')."""
        try:
            self.session.use_frame(image, name)
        except MessError as exc:
            self.show_message(str(exc), error=True)
            return
        self._update_controls()
        self.refresh()

    def choose_label(self) -> None:
        start = str(self.session.path.parent) if self.session.path else str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Label image for this frame", start, LABEL_FILTER)
        if path:
            self.set_label(path)

    def set_label(self, path: str | Path | None) -> None:
        self.session.set_label(path)
        self._update_controls()
        self.refresh()

    def set_frame(self, index: int) -> None:
        self.frame_box.setValue(index)

    def _on_frame_chosen(self, index: int) -> None:
        if self.session.is_video and index != self.session.frame:
            self.session.set_frame(index)
            self._scrub.start()            # scrubbing: inspect once the slider rests

    # --- the job ---------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._worker is not None and self._worker.active()

    def refresh(self) -> None:
        """Inspect the current choice (after the running inspection, if one runs)."""
        if not self.session.ready or self.state.net is None:
            return
        if self.busy:
            self._again = True
            self._worker.cancel()
            return
        request = self.session.request()
        net, config, backend, precision = self.state.net, self.state.config, self.state.backend, self.state.precision
        self.show_message(f"inspecting {request.name} on {backend} ...")
        self._worker = start_job(
            lambda token: inspection_job(net, request, config=config, backend=backend, precision=precision,
                                         cancel=token),
            "inspect", self, succeeded=self._on_done, failed=lambda text: self.show_message(text, error=True),
            finished=self._on_finished)

    def _on_finished(self) -> None:
        if self._again:
            self._again = False
            self.refresh()

    def _on_done(self, outcome: InspectOutcome) -> None:
        self.outcome = outcome
        inspection = outcome.inspection
        self._pixmap = QPixmap.fromImage(to_qimage(outcome.grid))
        self._fit_picture()
        self.table.setRowCount(len(inspection.exits))
        for row, view in enumerate(inspection.exits):
            cells = (view.exit_id, f"{view.image_confidence:.2f}",
                     "-" if view.th_img is None else f"{view.th_img:.2f}", "leaves" if view.leaves else "",
                     "-" if view.miou is None else f"{view.miou:.1f}", f"{view.agreement:.0f}")
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if view.leaves:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(row, column, item)
        kept = ", ".join(inspection.config.exits)
        self.show_message(f"{outcome.request.name}: leaves at {inspection.leaves_at} (configuration: {kept}; "
                          f"{self.state.backend} {self.state.precision}). Click an exit to scroll to it.")
        self._update_controls()

    def _fit_picture(self) -> None:
        """The grid at the scroll area's width (never enlarged): no sideways scrolling."""
        if self._pixmap is None:
            return
        width = min(self._pixmap.width(), max(200, self.scroll.viewport().width()))
        self.picture.setPixmap(self._pixmap.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation))

    @property
    def grid_scale(self) -> float:
        """Shown size over the grid's own (the grid is fitted to the page's width)."""
        shown = self.picture.pixmap()
        return 1.0 if self._pixmap is None or shown.isNull() else shown.width() / self._pixmap.width()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_picture()

    def show_exit(self, row: int) -> None:
        if self.outcome is None or not 0 <= row < len(self.outcome.inspection.exits):
            return
        exit_id = self.outcome.inspection.exits[row].exit_id
        self.scroll.verticalScrollBar().setValue(round(self.outcome.rows[exit_id] * self.grid_scale))
        self.table.selectRow(row)

    def save_grid(self, path: str | Path | None = None) -> Path | None:
        """The grid as PNG and, beside it, the figures as JSON (what `mess inspect --out --json` writes)."""
        if self.outcome is None:
            return None
        if path is None:
            start = str(Path(self.settings.get("inspect/save_folder", str(Path.home()))) / "inspect.png")
            path, _ = QFileDialog.getSaveFileName(self, "Save the grid", start, "PNG (*.png)")
            if not path:
                return None
        from core.fileio import write_bytes_atomic
        from core.jsonio import write_json_atomic
        from core.inspect.grid import encode_picture

        target = Path(path).with_suffix(".png")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(target, encode_picture(self.outcome.grid, ".png"))
            write_json_atomic(target.with_suffix(".json"), {**self.outcome.inspection.to_json(),
                                                            "image": self.outcome.request.name})
        except OSError as exc:
            self.show_message(f"{target.parent}: cannot create the folder ({exc.strerror})", error=True)
            return None
        except MessError as exc:
            self.show_message(str(exc), error=True)
            return None
        self.settings.set("inspect/save_folder", str(target.parent))
        self.show_message(f"saved {target} and {target.with_suffix('.json').name}")
        return target

    def shutdown(self) -> None:
        self._scrub.stop()
        self.dataset.shutdown()
        if self._worker is not None:
            self._again = False
            self._worker.cancel()
            self._worker.wait()


PAGES.add("inspect", PageEntry("inspect", "Inspect", "Ctrl+5", factory=InspectPage))

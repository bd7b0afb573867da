"""The Search page: calibrate on a labelled split (or, label-free, on your own footage), search every exit
configuration, and pick one for a budget on the Pareto front; apply it to the Live page or save it as
`mess search --out` does.

The work (calibration, latency measurement, search) is core.search.session.search_job on a worker;
moving the budget afterwards only re-reads the search result (no recomputation).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGroupBox,
                               QHBoxLayout, QLabel, QProgressBar, QPushButton, QRadioButton, QScrollArea, QSlider,
                               QSpinBox, QSplitter, QVBoxLayout, QWidget)

from app.pages import PAGES, Page, PageEntry
from app.widgets.config_dialog import CONFIG_DIR_KEY, apply_config_file, choose_and_apply_config
from app.widgets.exit_bars import ExitBars
from app.widgets.folder_field import FolderField
from app.widgets.pareto_plot import ParetoPlot, describe_config
from app.workers import JobWorker, start_job
from core.errors import ConfigError, MessError
from core.jobs import Progress
from core.profile.costs import CostTable
from core.search.calibration import LABELS
from core.search.session import (Budget, SearchOutcome, SearchRequest, choose, pareto_document, save_config,
                                 search_job)

BUDGET_KINDS = {"latency": "Latency (ms)", "gflops": "GFLOPs", "drop": "Accuracy floor (max mIoU drop)"}
SUFFIX = {"latency": " ms", "gflops": " GFLOPs", "drop": " pp"}
DECIMALS = {"latency": 1, "gflops": 3, "drop": 2}
DEFAULT_VALUE = {"latency": 100.0, "gflops": 1.5, "drop": 2.0}
DEFAULT_RANGE = {"latency": (0.0, 500.0), "gflops": (0.0, 5.0), "drop": (0.0, 20.0)}
SLIDER_STEPS = 1000
HOVER_PROMPT = "Hover a point of the Pareto front to see its configuration; click it to select it."


class SearchPage(Page):
    """Inputs on the left; the Pareto front and the chosen configuration on the right."""

    title = "Search"

    def __init__(self, state, settings, parent: QWidget | None = None) -> None:
        super().__init__(state, settings, parent)
        self.outcome: SearchOutcome | None = None
        self.held_out = None                 # core.search.holdout.HeldOutReport of the budget's choice
        self._held_out_index: int | None = None
        self.chosen: int | None = None
        self.table: CostTable | None = None        # an imported latency table
        self.table_path = ""
        self._worker: JobWorker | None = None
        self._values = {kind: settings.get(f"search/budget/{kind}", DEFAULT_VALUE[kind], minimum=0.0, maximum=1e6)
                        for kind in BUDGET_KINDS}
        self._syncing = False
        self._build()
        self._restore()
        state.model_changed.connect(self._on_model_changed)
        state.backend_changed.connect(lambda *_: self._show_backend())

    # --- layout -----------------------------------------------------------------------------
    def _build(self) -> None:
        left = QWidget(self)
        column = QVBoxLayout(left)
        column.addWidget(self._build_data())
        column.addWidget(self._build_latency())
        column.addWidget(self._build_budget())
        column.addStretch(1)
        left_scroll = QScrollArea(self)
        left_scroll.setWidget(left)
        left_scroll.setWidgetResizable(True)
        left_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        left_panel = QWidget(self)
        left_panel.setMinimumWidth(330)
        panel_layout = QVBoxLayout(left_panel)
        panel_layout.setContentsMargins(0, 0, 0, 0)
        panel_layout.addWidget(left_scroll, 1)
        panel_layout.addLayout(self._build_run())

        right = QSplitter(Qt.Orientation.Vertical, self)
        top = QWidget(right)
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        self.plot = ParetoPlot(top)
        self.plot.point_clicked.connect(self.select)
        self.plot.point_hovered.connect(self._on_hover)
        top_layout.addWidget(self.plot, 1)
        self.hover_label = QLabel(HOVER_PROMPT, top)
        self.hover_label.setWordWrap(True)
        self.hover_label.setMinimumHeight(48)
        self.hover_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.hover_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        top_layout.addWidget(self.hover_label)
        right.addWidget(top)
        right.addWidget(self._build_chosen())
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 2)

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(left_panel)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([350, 900])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(splitter)

    def _build_data(self) -> QGroupBox:
        box = QGroupBox("Calibration data", self)
        form = QFormLayout(box)
        self.reference_combo = QComboBox(box)
        self.reference_combo.addItem("Labelled dataset", "labels")
        self.reference_combo.addItem("Your footage, label-free", "final exit")
        self.reference_combo.setToolTip(
            "Labelled: a dataset split with masks. Label-free: an image folder or a video from the camera you "
            "will run on; each exit is scored against the final exit's prediction, so mIoU means agreement "
            "with the full network (as 'mess search --unlabelled')")
        self.reference_combo.currentIndexChanged.connect(self._on_reference_changed)
        form.addRow("Calibrate on:", self.reference_combo)
        self.data_field = FolderField("Calibration dataset folder", "labelled dataset folder",
                                      "A labelled dataset (CamVid, Cityscapes, VOC or image/mask folders); "
                                      "its split calibrates the search", box)
        self.video_button = QPushButton("Video...", self.data_field)
        self.video_button.setToolTip("Choose a video file to calibrate on (label-free)")
        self.video_button.clicked.connect(self._choose_video)
        self.data_field.layout().addWidget(self.video_button)
        form.addRow("Folder:", self.data_field)
        self.split_combo = QComboBox(box)
        self.split_combo.setEditable(True)
        self.split_combo.addItems(["val", "train", "test"])
        self.split_combo.setToolTip("The split to calibrate on (labelled images the model was not trained on)")
        form.addRow("Split:", self.split_combo)
        self.limit_spin = QSpinBox(box)
        self.limit_spin.setRange(0, 100_000)
        self.limit_spin.setSpecialValueText("all")
        self.limit_spin.setSuffix(" images")
        self.limit_spin.setToolTip("A quick search calibrates on this many images, evenly spaced over the split "
                                   "('all' = every image; as 'mess search --limit N')")
        form.addRow("Images:", self.limit_spin)
        self._on_reference_changed()
        return box

    def label_free(self) -> bool:
        return self.reference_combo.currentData() == "final exit"

    def _on_reference_changed(self) -> None:
        free = self.label_free()
        self.split_combo.setEnabled(not free)
        self.video_button.setVisible(free)
        self.data_field.edit.setPlaceholderText("image folder or video file" if free else "labelled dataset folder")

    def _choose_video(self) -> None:
        start = self.data_field.text()
        path, _ = QFileDialog.getOpenFileName(self, "Calibration video", str(Path(start).parent) if start else "",
                                              "Videos (*.mp4 *.avi *.mov *.mkv *.webm *.m4v);;All files (*)")
        if path:
            self.data_field.set_text(path)

    def _build_latency(self) -> QGroupBox:
        box = QGroupBox("Device latency", self)
        layout = QVBoxLayout(box)
        self.here_radio = QRadioButton(box)
        self.here_radio.setToolTip("Measure every segment and head on this machine, on the model's device, with the "
                                   "execution backend of the Runtime menu")
        self._show_backend()
        self.table_radio = QRadioButton("Latency table from another device:", box)
        self.table_radio.setToolTip("Costs from 'mess profile' run on the target device; calibration images are "
                                    "resized to the size it was measured at")
        group = QButtonGroup(box)
        group.addButton(self.here_radio)
        group.addButton(self.table_radio)
        self.here_radio.setChecked(True)
        layout.addWidget(self.here_radio)
        layout.addWidget(self.table_radio)
        row = QHBoxLayout()
        self.table_label = QLabel("none loaded", box)
        self.table_label.setWordWrap(True)
        self.load_table_button = QPushButton("Load...", box)
        self.load_table_button.setToolTip("Load a latency table JSON made by 'mess profile' — Ctrl+L")
        self.load_table_button.setShortcut(QKeySequence("Ctrl+L"))
        self.load_table_button.clicked.connect(self.choose_table)
        row.addWidget(self.table_label, 1)
        row.addWidget(self.load_table_button)
        layout.addLayout(row)
        self.table_radio.toggled.connect(self._on_latency_source)
        return box

    def _build_budget(self) -> QGroupBox:
        box = QGroupBox("Budget", self)
        form = QFormLayout(box)
        self.kind_combo = QComboBox(box)
        for kind, title in BUDGET_KINDS.items():
            self.kind_combo.addItem(title, kind)
        self.kind_combo.setToolTip("Latency / GFLOPs: the most accurate configuration within that mean cost. "
                                   "Accuracy floor: the cheapest configuration at most that many mIoU points "
                                   "below the full network")
        self.kind_combo.currentIndexChanged.connect(self._on_kind_changed)
        form.addRow("Kind:", self.kind_combo)
        self.cost_combo = QComboBox(box)
        self.cost_combo.addItem("latency", "latency")
        self.cost_combo.addItem("GFLOPs", "gflops")
        self.cost_combo.setToolTip("What an accuracy floor minimises")
        self.cost_combo.currentIndexChanged.connect(self._on_cost_changed)
        self.cost_label = QLabel("Minimise:", box)
        form.addRow(self.cost_label, self.cost_combo)
        self.slider = QSlider(Qt.Orientation.Horizontal, box)
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setToolTip("Move the budget: the best configuration within it is chosen at once")
        self.slider.valueChanged.connect(self._on_slider)
        self.value_spin = QDoubleSpinBox(box)
        self.value_spin.setRange(0.0, 1e6)
        self.value_spin.setKeyboardTracking(False)
        self.value_spin.setToolTip("The budget's value")
        self.value_spin.valueChanged.connect(self._on_spin)
        row = QHBoxLayout()
        row.addWidget(self.slider, 1)
        row.addWidget(self.value_spin)
        form.addRow("Value:", row)
        self.range_label = QLabel("", box)
        self.range_label.setStyleSheet("color: #6b7280;")
        form.addRow("", self.range_label)
        return box

    def _build_run(self) -> QVBoxLayout:
        layout = QVBoxLayout()
        row = QHBoxLayout()
        self.search_button = QPushButton("Search", self)
        self.search_button.setToolTip("Calibrate (or reuse this calibration set's cache in the model folder) and "
                                      "search every configuration — Ctrl+Return")
        self.search_button.setShortcut(QKeySequence("Ctrl+Return"))
        self.search_button.clicked.connect(self.start_search)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setToolTip("Stop the calibration or the latency measurement — Esc")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        # Esc cancels only while a search runs (otherwise it leaves full screen); a hidden page's shortcut is inactive.
        self.cancel_shortcut = QShortcut(QKeySequence("Esc"), self)
        self.cancel_shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
        self.cancel_shortcut.activated.connect(self.cancel)
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
        return layout

    def _build_chosen(self) -> QGroupBox:
        box = QGroupBox("Chosen configuration", self)
        layout = QHBoxLayout(box)
        left = QVBoxLayout()
        form = QFormLayout()
        self.chosen_labels: dict[str, QLabel] = {}
        for key, title in (("exits", "Exits"), ("thresholds", "Thresholds"), ("miou", "Predicted mIoU"),
                           ("latency", "Latency"), ("gflops", "GFLOPs"), ("gain", "vs full network"),
                           ("held_out", "Held out"), ("why", "Chosen by")):
            label = QLabel("–", box)
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.chosen_labels[key] = label
            form.addRow(f"{title}:", label)
        left.addLayout(form)
        buttons = QHBoxLayout()
        self.apply_button = QPushButton("Apply to Live", box)
        self.apply_button.setToolTip("Run this configuration on the Live page — Ctrl+Shift+A")
        self.apply_button.setShortcut(QKeySequence("Ctrl+Shift+A"))
        self.apply_button.clicked.connect(self.apply_to_live)
        self.save_button = QPushButton("Save configuration...", box)
        self.save_button.setToolTip("Write the exit configuration JSON (with its predicted mIoU and cost), as "
                                    "'mess search --out' does — Ctrl+S")
        self.save_button.setShortcut(QKeySequence("Ctrl+S"))
        self.save_button.clicked.connect(self.choose_save_path)
        self.load_button = QPushButton("Load configuration...", box)
        self.load_button.setToolTip("Read an exit configuration JSON ('mess search --out', or saved here), check it "
                                    "against the open model and run it on the Live page (File menu: Ctrl+Shift+L)")
        self.load_button.setEnabled(self.state.net is not None)
        self.load_button.clicked.connect(self.choose_config_to_load)
        self.save_front_button = QPushButton("Save front...", box)
        self.save_front_button.setToolTip("Write the Pareto front and search statistics, "
                                          "as 'mess search --pareto' does")
        self.save_front_button.clicked.connect(self.choose_front_path)
        for button in (self.apply_button, self.save_button, self.save_front_button):
            button.setEnabled(False)
            buttons.addWidget(button)
        buttons.addWidget(self.load_button)
        left.addLayout(buttons)
        left.addStretch(1)
        layout.addLayout(left, 3)
        self.bars = ExitBars(box)
        self.bars.setMinimumHeight(120)
        self.bars.setToolTip("Share of the calibration images that leave at each kept exit")
        layout.addWidget(self.bars, 2)
        return box

    # --- settings -----------------------------------------------------------------------------
    def _restore(self) -> None:
        s = self.settings
        self.reference_combo.setCurrentIndex(max(self.reference_combo.findData(s.get("search/reference", "labels")), 0))
        self.data_field.set_text(s.get("search/data", ""))
        self.split_combo.setCurrentText(s.get("search/split", "val"))
        self.limit_spin.setValue(s.get("search/limit", 20, minimum=self.limit_spin.minimum(),
                                       maximum=self.limit_spin.maximum()))
        path = s.get("search/table", "")
        if path and Path(path).is_file():
            try:
                self.table, self.table_path = CostTable.load(path), path
                self.table_label.setText(self._table_text())
            except MessError:
                self.table, self.table_path = None, ""
        self.table_radio.setChecked(s.get("search/latency", "here") == "table" and self.table is not None)
        index = self.kind_combo.findData(s.get("search/budget_kind", "latency"))
        self.cost_combo.setCurrentIndex(max(self.cost_combo.findData(s.get("search/drop_cost", "latency")), 0))
        self.kind_combo.setCurrentIndex(max(index, 0))
        self._on_kind_changed()

    def save_settings(self) -> None:
        s = self.settings
        s.set("search/reference", self.reference_combo.currentData())
        s.set("search/data", self.data_field.text())
        s.set("search/split", self.split_combo.currentText())
        s.set("search/limit", self.limit_spin.value())
        s.set("search/latency", "table" if self.table_radio.isChecked() else "here")
        s.set("search/table", self.table_path)
        s.set("search/budget_kind", self.kind())
        s.set("search/drop_cost", self.cost_combo.currentData())
        for kind, value in self._values.items():
            s.set(f"search/budget/{kind}", float(value))

    # --- messages -----------------------------------------------------------------------------
    def show_message(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #b00020;" if error else "")

    # --- latency table ----------------------------------------------------------------------------
    def _table_text(self) -> str:
        if self.table is None:
            return "none loaded"
        h, w = self.table.input_size
        return f"{Path(self.table_path).name}: {self.table.device_description or self.table.device}, {w}×{h}"

    def choose_table(self) -> None:
        start = str(Path(self.table_path).parent) if self.table_path else ""
        path, _ = QFileDialog.getOpenFileName(self, "Load a latency table (from 'mess profile')", start,
                                              "Latency tables (*.json);;All files (*)")
        if path:
            self.load_table(path)

    def load_table(self, path: str | Path) -> bool:
        """Use a latency table from a file; a one-line message (and no change) when it does not fit the model."""
        try:
            table = CostTable.load(path)
            if self.state.net is not None:
                table.check_matches(self.state.net, str(path))
        except MessError as exc:
            self.show_message(str(exc).splitlines()[0], error=True)
            return False
        self.table, self.table_path = table, str(path)
        self.table_label.setText(self._table_text())
        self.table_label.setToolTip(str(path))
        self.table_radio.setChecked(True)
        self.show_message(f"Latency table loaded: {self._table_text()}")
        return True

    def _on_latency_source(self, use_table: bool) -> None:
        if use_table and self.table is None:
            self.here_radio.setChecked(True)
            self.choose_table()

    # --- running ----------------------------------------------------------------------------------
    def running(self) -> bool:
        return self._worker is not None and self._worker.active()

    def start_search(self) -> None:
        """Calibrate and search on a worker; the front appears when it is done."""
        if self.running():
            return
        net, info, folder = self.state.net, self.state.info, self.state.folder
        if net is None:
            self.show_message("Open a model first (Model page or File > Open).", error=True)
            return
        data = self.data_field.text()
        free = self.label_free()
        if not data:
            self.show_message("Choose the calibration footage (a folder or a video) first." if free else
                              "Choose the calibration dataset folder first.", error=True)
            return
        if not (Path(data).exists() if free else Path(data).is_dir()):
            self.show_message(f"{data}: {'file or folder' if free else 'dataset folder'} is missing", error=True)
            return
        use_table = self.table_radio.isChecked() and self.table is not None
        request = SearchRequest(None if free else data, self.split_combo.currentText().strip() or "val",
                                self.limit_spin.value() or None, self.table if use_table else None,
                                self.table_path or "latency table", unlabelled=data if free else None,
                                backend=self.state.backend, precision=self.state.precision)
        self.save_settings()
        self.search_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.cancel_shortcut.setEnabled(True)
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.show_message("Opening the calibration data...")
        model_key = (str(folder), info.weights_sha256)
        self._worker = start_job(lambda token: search_job(net, info, folder, request, token), "search", self,
                                 progress=self._on_progress,
                                 succeeded=lambda outcome: self._on_searched(model_key, outcome),
                                 failed=lambda message: self.show_message(message, error=True),
                                 cancelled=lambda: self.show_message("Search cancelled."),
                                 finished=self._on_finished)

    def cancel(self) -> None:
        if self.running():
            self._worker.cancel()
            self.show_message("Cancelling...")

    def _on_progress(self, event: Progress) -> None:
        if event.total:
            self.progress.setRange(0, event.total)
            self.progress.setValue(event.done)
        else:
            self.progress.setRange(0, 0)
        eta = event.metrics.get("eta_s") if event.metrics else None
        text = {"calibrate": f"Calibrating: {event.message}", "latency": "Measuring latency on this machine...",
                "search": "Searching every configuration..."}.get(event.stage, event.message)
        self.show_message(text + (f" (about {eta:.0f} s left)" if eta else ""))

    def _on_finished(self) -> None:
        self.search_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.cancel_shortcut.setEnabled(False)
        self.progress.setVisible(False)

    def _on_searched(self, model_key: tuple, outcome: SearchOutcome) -> None:
        info = self.state.info
        if info is None or model_key != (str(self.state.folder), info.weights_sha256):
            self.show_message("The model changed during the search: search again.", error=True)
            return
        self.outcome = outcome
        result = outcome.result
        self.plot.set_result(result, self.budget().axis, label_free=outcome.reference != LABELS)
        h, w = outcome.input_size
        source = "this machine" if outcome.table is not self.table else Path(self.table_path).name
        text = (f"Searched {result.count:,} configurations in {result.seconds:.2f} s on {outcome.images} images "
                f"({w}×{h}); latency from {source}.")
        if outcome.warnings:
            text += " " + outcome.warnings[0]
        self.show_message(text)
        self.save_front_button.setEnabled(True)
        self._update_range()
        self._apply_budget()

    def _show_backend(self) -> None:
        self.here_radio.setText(f"This machine, {self.state.backend} {self.state.precision} "
                                "(measured now, once per model)")

    def _on_model_changed(self) -> None:
        self.load_button.setEnabled(self.state.net is not None)
        if self.running():
            self.cancel()
        self.outcome = None
        self.plot.clear_result()
        self._show_chosen(None)
        self.save_front_button.setEnabled(False)
        self._update_range()
        if self.table is not None and self.state.net is not None:
            try:
                self.table.check_matches(self.state.net, self.table_path)
            except ConfigError as exc:
                self.show_message(f"{exc} — load another table or use this machine.", error=True)
                return
        self.show_message("")

    # --- budget -------------------------------------------------------------------------------
    def kind(self) -> str:
        return self.kind_combo.currentData()

    def budget(self) -> Budget:
        """The budget as set: the slider's exact value (the spin box shows it rounded) or the typed one."""
        return Budget(self.kind(), float(self._values[self.kind()]), self.cost_combo.currentData())

    def _range(self) -> tuple[float, float]:
        kind = self.kind()
        if self.outcome is None:
            return DEFAULT_RANGE[kind]
        result = self.outcome.result
        if kind == "drop":
            worst = float(result.miou[result.full_index] - result.miou.min())
            return 0.0, max(worst, 0.01)
        values = result.mean_latency_ms if kind == "latency" else result.mean_gflops
        return float(values.min()), float(values.max())

    def _update_range(self) -> None:
        lo, hi = self._range()
        unit = SUFFIX[self.kind()].strip()
        self.range_label.setText(f"slider: {lo:.{DECIMALS[self.kind()]}f} – {hi:.{DECIMALS[self.kind()]}f} {unit}"
                                 + ("" if self.outcome else " (set by the search)"))
        self._sync_slider()

    def _on_kind_changed(self, *_):
        kind = self.kind()
        drop = kind == "drop"
        self.cost_combo.setVisible(drop)
        self.cost_label.setVisible(drop)
        self._syncing = True
        self.value_spin.setDecimals(DECIMALS[kind])
        self.value_spin.setSuffix(SUFFIX[kind])
        self.value_spin.setSingleStep(10 ** -DECIMALS[kind] * 10)
        self.value_spin.setValue(self._values[kind])
        self._syncing = False
        if self.outcome is not None:
            self.plot.set_axis(self.budget().axis)
        self._update_range()
        self._apply_budget()

    def _on_cost_changed(self, *_):
        if self.outcome is not None:
            self.plot.set_axis(self.budget().axis)
        self._apply_budget()

    def _sync_slider(self) -> None:
        lo, hi = self._range()
        position = 0 if hi <= lo else round((self._values[self.kind()] - lo) / (hi - lo) * SLIDER_STEPS)
        self._syncing = True
        self.slider.setValue(max(0, min(SLIDER_STEPS, position)))
        self._syncing = False

    def _on_slider(self, position: int) -> None:
        if self._syncing:
            return
        lo, hi = self._range()
        value = lo + (hi - lo) * position / SLIDER_STEPS
        self._syncing = True
        self.value_spin.setValue(value)
        self._syncing = False
        self._values[self.kind()] = value      # exact: at either end the extreme configuration fits
        self._apply_budget()

    def _on_spin(self, value: float) -> None:
        if self._syncing:
            return
        self._values[self.kind()] = value
        self._sync_slider()
        self._apply_budget()

    def _apply_budget(self) -> None:
        """Choose the best configuration within the budget (no recomputation) and mark it."""
        if self.outcome is None:
            return
        budget, result = self.budget(), self.outcome.result
        floor = float(result.miou[result.full_index]) - budget.value
        self.plot.set_budget(budget.kind, floor if budget.kind == "drop" else budget.value)
        try:
            index, self.held_out = choose(result, budget, self.outcome.folds)
        except ConfigError as exc:
            self.held_out = None
            self._show_chosen(None)
            self.chosen_labels["why"].setText(str(exc))
            return
        rule = f"; {self.held_out.rule} rule: worst calibration fold" if self.held_out is not None and \
            self.held_out.rule == "robust" else ""
        self._held_out_index = index
        self._show_chosen(index, f"the budget ({self._budget_text(budget)}{rule})")

    def _budget_text(self, budget: Budget) -> str:
        if budget.kind == "drop":
            return f"at most {budget.value:.2f} mIoU points below the full network, cheapest in {budget.cost}"
        return f"at most {budget.value:.{DECIMALS[budget.kind]}f}{SUFFIX[budget.kind]}, most accurate"

    # --- the chosen configuration -------------------------------------------------------------------
    def select(self, index: int) -> None:
        """Choose configuration ``index`` (a click on the front)."""
        if self.outcome is not None:
            self._show_chosen(index, "a click on the front")

    def _on_hover(self, index: int) -> None:
        if index < 0 or self.outcome is None:
            self.hover_label.setText(HOVER_PROMPT)
        else:
            self.hover_label.setText(describe_config(self.outcome.result, index))

    def _show_chosen(self, index: int | None, why: str = "") -> None:
        self.chosen = index
        self.plot.set_chosen(index)
        for button in (self.apply_button, self.save_button):
            button.setEnabled(index is not None)
        labels = self.chosen_labels
        if index is None or self.outcome is None:
            for label in labels.values():
                label.setText("–")
            self.bars.set_fractions(None)
            return
        result = self.outcome.result
        config, summary, full = result.config(index), result.summary(index), result.summary(result.full_index)
        labels["exits"].setText(" › ".join(config.exits) + f"  ({config.mode})")
        if config.mode == "dynamic" and len(config.exits) > 1:
            labels["thresholds"].setText(f"th_pix {config.th_pix[0]:g}, th_img {config.th_img[0]:g}, "
                                         f"{config.policy.confidence} confidence")
        else:
            labels["thresholds"].setText("none (one exit answers every image)")
        if self.outcome.reference == "labels":
            labels["miou"].setText(f"{summary['miou']:.2f} %  (full network {full['miou']:.2f} %)")
        else:
            labels["miou"].setText(f"{summary['miou']:.2f} % agreement with the full network (label-free)")
        labels["latency"].setText(f"{summary['mean_latency_ms']:.1f} ms mean, {summary['p95_latency_ms']:.1f} ms p95")
        labels["gflops"].setText(f"{summary['mean_gflops']:.3f} GFLOPs mean")
        speed = full["mean_latency_ms"] / max(summary["mean_latency_ms"], 1e-9)
        labels["gain"].setText(
            f"{_percent(summary['mean_latency_ms'], full['mean_latency_ms'])} latency ({speed:.2f}× as fast), "
            f"{_percent(summary['mean_gflops'], full['mean_gflops'])} GFLOPs, "
            f"{summary['miou'] - full['miou']:+.2f} pp mIoU")
        labels["why"].setText(why)
        labels["held_out"].setText(self._held_out_text(index))
        self.bars.set_fractions(result.fractions(index))

    def report_for(self, index: int | None):
        """The held-out report when ``index`` is the budget's choice (a clicked configuration has none)."""
        return self.held_out if index is not None and index == self._held_out_index else None

    def _held_out_text(self, index: int) -> str:
        report = self.report_for(index)
        if report is None:
            return ("not checked (a configuration clicked on the front)" if self.outcome.folds is not None
                    else "not checked (too few calibration images to fold)")
        s = report.summary(report.rule)
        if not s.get("feasible_folds"):
            return f"nothing fits the budget on the other folds of any held-out fold ({report.folds.by})"
        return (f"chosen on the other folds, measured on each {report.folds.unit} left out: "
                f"{s['mean_held_out_drop_pp']:.2f} pp below the full network (worst "
                f"{s['worst_held_out_drop_pp']:.2f}), {s['mean_held_out_speedup']:.2f}× as fast; "
                f"the budget held on {s['budget_met_folds']} of {s['folds']} folds")

    def apply_to_live(self) -> None:
        if self.outcome is None or self.chosen is None:
            return
        config = self.outcome.result.config(self.chosen)
        self.state.set_config(config)
        self.show_message(f"Applied to Live: {' › '.join(config.exits)}")

    def choose_config_to_load(self) -> None:
        choose_and_apply_config(self, self.settings, self.state, self.show_message)

    def load_config(self, path: str | Path) -> bool:
        """Apply a configuration file to the Live page (AppState.load_config); one line on failure."""
        return apply_config_file(self.state, path, self.show_message)

    def choose_save_path(self) -> None:
        if self.chosen is None:
            return
        start = self.settings.get(CONFIG_DIR_KEY, str(self.state.folder or ""))
        path, _ = QFileDialog.getSaveFileName(self, "Save the exit configuration", str(Path(start) / "config.json"),
                                              "Exit configurations (*.json);;All files (*)")
        if path:
            self.settings.set(CONFIG_DIR_KEY, str(Path(path).parent))
            self.save_config(path)

    def save_config(self, path: str | Path) -> bool:
        """Write what `mess search --out` writes for the chosen configuration."""
        if self.outcome is None or self.chosen is None or self.state.info is None:
            return False
        try:
            save_config(path, self.outcome.result, self.chosen, self.outcome.table, self.outcome.images,
                        self.outcome.reference, self.report_for(self.chosen), self.state.config_origin())
        except MessError as exc:      # core.fileio.WriteError: one line naming the file
            self.show_message(str(exc), error=True)
            return False
        except OSError as exc:
            self.show_message(f"{path}: cannot write ({exc.strerror or exc})", error=True)
            return False
        self.show_message(f"Saved {path}")
        return True

    def choose_front_path(self) -> None:
        if self.outcome is None:
            return
        start = self.settings.get(CONFIG_DIR_KEY, str(self.state.folder or ""))
        path, _ = QFileDialog.getSaveFileName(self, "Save the Pareto front", str(Path(start) / "pareto.json"),
                                              "JSON (*.json);;All files (*)")
        if path:
            self.save_front(path)

    def save_front(self, path: str | Path) -> bool:
        """Write what `mess search --pareto` writes, for the plot's cost axis."""
        from core.fileio import write_json_atomic

        if self.outcome is None:
            return False
        try:
            write_json_atomic(Path(path), pareto_document(self.outcome.result, self.budget().axis, self.outcome.images,
                                                                  self.outcome.reference))
        except MessError as exc:      # core.fileio.WriteError: one line naming the file
            self.show_message(str(exc), error=True)
            return False
        except OSError as exc:
            self.show_message(f"{path}: cannot write ({exc.strerror or exc})", error=True)
            return False
        self.show_message(f"Saved {path}")
        return True

    # --- shutdown -----------------------------------------------------------------------------
    def shutdown(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            self._worker.wait(60_000)


def _percent(value: float, reference: float) -> str:
    return f"{(value / reference - 1.0) * 100:+.0f} %" if reference > 0 else "n/a"


PAGES.add("search", PageEntry("search", "Search", "Ctrl+3", SearchPage))

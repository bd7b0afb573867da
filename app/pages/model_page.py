"""The Model page: what model is open, a diagram of its backbone with the cost of every piece,
and converting a registered backbone into a new model folder.

Costs (FLOPs and latency per segment and head) are measured on a worker, once per model, size
and device (core.profile.cache), or read from a latency table made by `mess profile` elsewhere.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QLineEdit, QProgressBar, QPushButton, QScrollArea, QSizePolicy, QSplitter,
                               QVBoxLayout, QWidget)

from app.pages import PAGES, Page, PageEntry
from app.widgets.class_legend import ClassLegend
from app.widgets.folder_field import FolderField
from app.widgets.segment_diagram import SegmentDiagram
from app.workers import JobWorker, start_job
from core.data.classes import CLASS_SETS
from core.errors import MessError
from core.models import BACKBONES, HEAD_PRESETS
from core.models.summary import summarize
from core.profile.breakdown import cost_breakdown
from core.profile.cache import COST_CACHE, cost_key
from core.profile.costs import CostTable

CLASSES_FILE_ITEM = "classes.json file..."
DEFAULT_SIZE = (360, 480)


class _Relay(QObject):
    """Carries progress from a worker's callback to the UI thread (queued)."""

    progress = Signal(int, int)


def _hw(size) -> str:
    """(H, W) -> 'H×W', the order the size fields and `mess convert --input` read."""
    return f"{size[0]}×{size[1]}"


def _parse_size(text: str) -> tuple[int, int] | None:
    """'HxW' -> (H, W) as `mess convert --input` reads it; '' -> None; a ConfigError otherwise."""
    import argparse

    from core.cli.common import parse_size
    from core.errors import ConfigError

    if not text.strip():
        return None
    try:
        return parse_size(text.strip())
    except argparse.ArgumentTypeError as exc:
        raise ConfigError(f"input size: {exc}") from None


class ModelPage(Page):
    """Open a model, see it as a diagram with costs, or convert a backbone."""

    title = "Model"

    def __init__(self, state, settings, parent: QWidget | None = None) -> None:
        super().__init__(state, settings, parent)
        self.table: CostTable | None = None          # what the diagram shows
        self.table_source = ""                       # "" = measured here, else the JSON file
        self._imported: dict[tuple, tuple[CostTable, str]] = {}   # per model: a loaded table and its file
        self._cost_worker: JobWorker | None = None
        self._convert_worker: JobWorker | None = None
        self._pending_measure = False
        self._closing = False
        self._remeasure = False
        self._measuring_key: tuple = ()
        self._relay = _Relay(self)
        self._relay.progress.connect(self._on_measure_progress)
        self._build()
        state.model_loading.connect(self._on_model_loading)
        state.model_changed.connect(self._on_model_changed)
        state.backend_changed.connect(self._on_backend_changed)
        state.model_failed.connect(self._on_model_failed)
        state.config_changed.connect(self.diagram.set_config)
        self.diagram.set_config(state.config)
        if state.net is not None:
            self._on_model_changed()

    # --- layout -----------------------------------------------------------------------------
    def _build(self) -> None:
        left = QWidget(self)
        column = QVBoxLayout(left)
        column.addWidget(self._build_info())
        column.addWidget(self._build_convert())
        column.addStretch(1)
        left_scroll = QScrollArea(self)
        left_scroll.setWidget(left)
        left_scroll.setWidgetResizable(True)
        left_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        left_scroll.setMinimumWidth(340)

        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        bar = QHBoxLayout()
        self.costs_label = QLabel("Costs: none yet", right)
        self.costs_label.setWordWrap(True)
        self.costs_label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.measure_button = QPushButton("Measure here", right)
        self.measure_button.setToolTip("Measure FLOPs and latency of every segment and head on this machine "
                                       "(at the model's input size; once per model) — Ctrl+M")
        self.measure_button.setShortcut(QKeySequence("Ctrl+M"))
        self.measure_button.clicked.connect(self.measure_here)
        self.load_table_button = QPushButton("Load latency table...", right)
        self.load_table_button.setToolTip("Show latencies from a table made by 'mess profile' on another device "
                                          "— Ctrl+L")
        self.load_table_button.setShortcut(QKeySequence("Ctrl+L"))
        self.load_table_button.clicked.connect(self.choose_table)
        self.cost_progress = QProgressBar(right)
        self.cost_progress.setMaximumWidth(160)
        self.cost_progress.setVisible(False)
        self.cancel_costs_button = QPushButton("Cancel", right)
        self.cancel_costs_button.setToolTip("Stop measuring")
        self.cancel_costs_button.setVisible(False)
        self.cancel_costs_button.clicked.connect(self.cancel_measure)
        for widget in (self.costs_label, self.cost_progress, self.cancel_costs_button, self.measure_button,
                       self.load_table_button):
            bar.addWidget(widget)
        right_layout.addLayout(bar)
        self.diagram = SegmentDiagram(right)
        scroll = QScrollArea(right)
        scroll.setWidget(self.diagram)
        scroll.setWidgetResizable(True)
        right_layout.addWidget(scroll, 1)
        self.message = QLabel("", right)
        self.message.setWordWrap(True)
        self.message.setObjectName("model-page-message")
        right_layout.addWidget(self.message)

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(left_scroll)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([360, 900])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(splitter)

    def _build_info(self) -> QGroupBox:
        box = QGroupBox("Open model", self)
        layout = QVBoxLayout(box)
        self.open_button = QPushButton("Open model folder...", box)
        self.open_button.setToolTip("Open a model folder (model.json + weights.safetensors) — Ctrl+O")
        self.open_button.clicked.connect(self.choose_model)
        layout.addWidget(self.open_button)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.info_labels: dict[str, QLabel] = {}
        for key, title in (("name", "Model"), ("backbone", "Backbone"), ("input", "Input size"), ("exits", "Exits"),
                           ("origin", "Origin"), ("val", "Validation")):
            label = QLabel("–", box)
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.info_labels[key] = label
            form.addRow(f"{title}:", label)
        layout.addLayout(form)
        self.classes_title = QLabel("Classes:", box)
        layout.addWidget(self.classes_title)
        self.legend = ClassLegend(2, box)
        layout.addWidget(self.legend)
        return box

    def _build_convert(self) -> QGroupBox:
        box = QGroupBox("Convert a backbone", self)
        box.setToolTip("Build a registered backbone as a multi-exit network and save it as a model folder "
                       "(what 'mess convert' does); the new model is then opened")
        form = QFormLayout(box)
        self.backbone_combo = QComboBox(box)
        for name in BACKBONES:
            self.backbone_combo.addItem(name)
            self.backbone_combo.setItemData(self.backbone_combo.count() - 1, BACKBONES.get(name).description,
                                            Qt.ItemDataRole.ToolTipRole)
        self.backbone_combo.setToolTip("Registered backbone")
        form.addRow("Backbone:", self.backbone_combo)
        self.classes_combo = QComboBox(box)
        self.classes_combo.addItems(list(CLASS_SETS.names()) + [CLASSES_FILE_ITEM])
        self.classes_combo.setToolTip("Class set: a registered one, or a classes.json file "
                                      "({names, palette, ignore_index})")
        self.classes_combo.activated.connect(self._on_classes_chosen)
        self.classes_file = ""
        form.addRow("Classes:", self.classes_combo)
        self.heads_combo = QComboBox(box)
        self.heads_combo.setEditable(True)
        for name in HEAD_PRESETS:
            self.heads_combo.addItem(name)
            keys = ", ".join(h.key() for h in HEAD_PRESETS.get(name))
            self.heads_combo.setItemData(self.heads_combo.count() - 1, keys, Qt.ItemDataRole.ToolTipRole)
        self.heads_combo.setToolTip("Heads at every candidate point: a preset, or comma-separated head keys "
                                    "such as fcn-c128-b2-rdi,dlb-c64-b1")
        form.addRow("Heads:", self.heads_combo)
        self.size_edit = QLineEdit("360x480", box)
        self.size_edit.setPlaceholderText("H×W, e.g. 360x480 (empty: any)")
        self.size_edit.setToolTip("The input size the model is meant for, height x width (HxW, as "
                                  "'mess convert --input' reads it; empty: none)")
        form.addRow("Input size (H×W):", self.size_edit)
        weights_row = QHBoxLayout()
        self.weights_edit = QLineEdit(box)
        self.weights_edit.setPlaceholderText("random initialisation")
        self.weights_edit.setToolTip("Optional local safetensors file with torchvision-named weights "
                                     "(nothing is downloaded)")
        weights_button = QPushButton("...", box)
        weights_button.setToolTip("Choose a weights file")
        weights_button.setMaximumWidth(32)
        weights_button.clicked.connect(self._choose_weights)
        weights_row.addWidget(self.weights_edit, 1)
        weights_row.addWidget(weights_button)
        form.addRow("Weights:", weights_row)
        self.out_field = FolderField("Model folder to create", "new model folder",
                                     "The model folder to write (model.json + weights.safetensors)", box)
        form.addRow("Output:", self.out_field)
        self.replace_check = QCheckBox("Replace a model in that folder", box)
        self.replace_check.setToolTip("Allow writing into a folder that is not empty (as 'mess convert --force')")
        form.addRow("", self.replace_check)
        row = QHBoxLayout()
        self.convert_button = QPushButton("Convert", box)
        self.convert_button.setToolTip("Build and save the model, then open it — Ctrl+Shift+C")
        self.convert_button.setShortcut(QKeySequence("Ctrl+Shift+C"))
        self.convert_button.clicked.connect(self.convert)
        self.convert_progress = QProgressBar(box)
        self.convert_progress.setRange(0, 0)
        self.convert_progress.setVisible(False)
        row.addWidget(self.convert_button)
        row.addWidget(self.convert_progress, 1)
        form.addRow(row)
        self.convert_status = QLabel("", box)
        self.convert_status.setWordWrap(True)
        form.addRow(self.convert_status)
        self._restore_convert_settings()
        return box

    # --- settings -----------------------------------------------------------------------------
    def _restore_convert_settings(self) -> None:
        s = self.settings
        backbone = s.get("model/convert/backbone", "mobilenet_v3_large")
        if backbone in BACKBONES:
            self.backbone_combo.setCurrentText(backbone)
        self.classes_file = s.get("model/convert/classes_file", "")
        classes = s.get("model/convert/classes", "camvid")
        if classes in CLASS_SETS:
            self.classes_combo.setCurrentText(classes)
        elif classes == CLASSES_FILE_ITEM and self.classes_file:
            self._set_classes_file(self.classes_file)
        self.heads_combo.setCurrentText(s.get("model/convert/heads", "light"))
        self.size_edit.setText(s.get("model/convert/input", "360x480"))
        self.out_field.set_text(s.get("model/convert/out", ""))
        self.weights_edit.setText(s.get("model/convert/weights", ""))

    def save_settings(self) -> None:
        s = self.settings
        s.set("model/convert/backbone", self.backbone_combo.currentText())
        classes = self.classes_combo.currentText()
        s.set("model/convert/classes", CLASSES_FILE_ITEM if self.classes_combo.currentIndex() >= len(CLASS_SETS)
              else classes)
        s.set("model/convert/classes_file", self.classes_file)
        s.set("model/convert/heads", self.heads_combo.currentText())
        s.set("model/convert/input", self.size_edit.text())
        s.set("model/convert/out", self.out_field.text())
        s.set("model/convert/weights", self.weights_edit.text())

    # --- messages -----------------------------------------------------------------------------
    def show_message(self, text: str, error: bool = False) -> None:
        """One line under the diagram (red for errors)."""
        self.message.setText(text)
        self.message.setStyleSheet("color: #b00020;" if error else "")

    # --- opening ------------------------------------------------------------------------------
    def choose_model(self) -> None:
        start = str(self.state.folder or "")
        folder = QFileDialog.getExistingDirectory(self, "Open a model folder (model.json + weights.safetensors)", start)
        if folder:
            self.state.open_model(folder)

    def _on_model_loading(self, folder: str) -> None:
        self.show_message(f"Loading {folder}...")

    def _on_model_failed(self, message: str) -> None:
        self.show_message(message, error=True)

    def _on_backend_changed(self, backend: str, precision: str) -> None:
        """Costs depend on the backend: show (or measure) this machine's for the new one."""
        if self.state.net is None or self._imported.get(self._model_key()) is not None:
            return
        if self.isVisible():
            self.measure_here()
        else:
            self._pending_measure = True     # measured when the page is shown, not behind the Live page

    def _on_model_changed(self) -> None:
        net, info = self.state.net, self.state.info
        summary = summarize(net.spec, info)
        labels = self.info_labels
        labels["name"].setText(summary.name)
        labels["name"].setToolTip(str(info.folder))
        options = ", ".join(f"{k} {v}" for k, v in summary.backbone_options.items())
        labels["backbone"].setText(summary.backbone + (f" ({options})" if options else ""))
        labels["input"].setText(f"{_hw(summary.input_size)} (H×W)" if summary.input_size
                                else "any (the input's own size)")
        labels["exits"].setText(f"{summary.early_exits} early exits at {summary.points} points + final")
        labels["origin"].setText(summary.provenance)
        if summary.val_miou:
            final = summary.val_miou.get("final")
            early = {k: v for k, v in summary.val_miou.items() if k != "final"}
            best = max(early.items(), key=lambda kv: kv[1]) if early else None
            text = f"final {final:.1f} % mIoU" if final is not None else ""
            if best:
                text += f"; best early exit {best[0]} {best[1]:.1f} %"
            note = f" ({summary.val_note})" if summary.val_note else ""
            labels["val"].setText(f"{text} on '{summary.val_split}'{note}; per exit in the diagram")
        else:
            labels["val"].setText("no validation metrics in model.json")
        self.classes_title.setText(f"Classes ({summary.class_set}, {len(summary.classes)}):")
        self.legend.set_classes(summary.classes)
        self.show_message(f"Opened {info.folder}")
        # The previous model's diagram goes with its name: until the new model's costs are known the
        # diagram says whose are coming, never shows another model's segments beside this one's name.
        self.table, self.table_source = None, ""
        self.diagram.set_breakdown(None, f"Costs of {summary.name}: not measured yet.")
        self.costs_label.setText(f"Costs of {summary.name}: not measured yet")
        self.costs_label.setToolTip("")
        imported = self._imported.get(self._model_key())
        if imported is not None:
            self._show_table(*imported)
        elif self.isVisible():
            self.measure_here()
        else:
            self._pending_measure = True
            self.diagram.set_breakdown(None, f"The costs of {summary.name} are measured when this page is shown.")

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._pending_measure and self.state.net is not None:
            self.measure_here()

    # --- costs --------------------------------------------------------------------------------
    def _model_key(self) -> tuple:
        info = self.state.info
        return (str(info.folder), info.weights_sha256) if info is not None else ()

    def _measure_key(self) -> tuple:
        """A measurement's key: the model, the backend and the precision."""
        return (*self._model_key(), self.state.backend, self.state.precision)

    def _measure_size(self) -> tuple[int, int]:
        return tuple(self.state.net.spec.input_size or DEFAULT_SIZE)

    def _device(self):
        return next(self.state.net.parameters()).device

    def measure_here(self) -> None:
        """Show the costs measured on this machine (from memory, else measured on a worker)."""
        self._pending_measure = False
        if self._closing:
            return
        net, info = self.state.net, self.state.info
        if net is None:
            self.show_message("Open a model first.", error=True)
            return
        self._imported.pop(self._model_key(), None)
        size, device = self._measure_size(), self._device()
        backend, precision = self.state.backend, self.state.precision
        key = cost_key(net, info.weights_sha256, size, device, backend, precision)
        cached = COST_CACHE.get(key)
        if cached is not None and self.table is cached and self.table_source == "" and not self._remeasure:
            COST_CACHE.discard(key)          # already shown: the user asks for a new measurement
            cached = None
        if cached is not None:
            self._show_table(cached, "")
            return
        if self._cost_worker is not None and self._cost_worker.active():
            if self._measuring_key != self._measure_key():
                self._remeasure = True       # measure the new model once the old measurement stops
                self._cost_worker.cancel()
            return
        self._measuring_key = self._measure_key()
        relay = self._relay
        sha = info.weights_sha256

        def job(token):
            def progress(done: int, total: int) -> None:
                token.check()
                relay.progress.emit(done, total)

            return COST_CACHE.measure(net, sha, size, device, progress=progress, backend=backend, precision=precision)

        self.cost_progress.setRange(0, 0)
        self.cost_progress.setVisible(True)
        self.cancel_costs_button.setVisible(True)
        self.measure_button.setEnabled(False)
        self.costs_label.setText(f"Measuring FLOPs and latency at {_hw(size)} (H×W) on {device}, "
                                 f"{backend} {precision}...")
        if self.diagram.breakdown is None:
            self.diagram.set_breakdown(None, "Measuring the cost of every segment and head of "
                                       f"{self.info_labels['name'].text()}...")
        model_key = self._measure_key()
        self._cost_worker = start_job(job, "measure-costs", self,
                                      succeeded=lambda table: self._measured(model_key, table),
                                      failed=self._measure_failed,
                                      cancelled=lambda: self.show_message("Measuring cancelled."),
                                      finished=self._measure_finished)

    def _measure_failed(self, message: str) -> None:
        print(f"MESS Studio: cannot measure the costs: {message}", flush=True)
        self.show_message(f"Cannot measure the costs: {message}", error=True)

    def _on_measure_progress(self, done: int, total: int) -> None:
        self.cost_progress.setRange(0, total)
        self.cost_progress.setValue(done)

    def _measured(self, model_key: tuple, table: CostTable) -> None:
        print(f"MESS Studio: costs measured on {table.backend} {table.precision}", flush=True)   # smoke tests read it
        if model_key == self._measure_key():
            self._show_table(table, "")

    def _measure_finished(self) -> None:
        self.cost_progress.setVisible(False)
        self.cancel_costs_button.setVisible(False)
        self.measure_button.setEnabled(True)
        if self._remeasure and self.state.net is not None:
            self._remeasure = False
            self.measure_here()
            return
        if self.table is None:
            self.costs_label.setText("Costs: not measured")
            if self.diagram.breakdown is None:
                self.diagram.set_breakdown(None, "No costs: press 'Measure here' or load a latency table.")

    def cancel_measure(self) -> None:
        if self._cost_worker is not None:
            self._cost_worker.cancel()

    def choose_table(self) -> None:
        start = self.settings.get("model/table_dir", "")
        path, _ = QFileDialog.getOpenFileName(self, "Load a latency table (from 'mess profile')", start,
                                              "Latency tables (*.json);;All files (*)")
        if path:
            self.settings.set("model/table_dir", str(Path(path).parent))
            self.load_table(path)

    def load_table(self, path: str | Path) -> bool:
        """Show a latency table from a file; a one-line message (and no change) when it does not fit."""
        if self.state.net is None:
            self.show_message("Open a model first.", error=True)
            return False
        try:
            table = CostTable.load(path)
            table.check_matches(self.state.net, str(path))
        except MessError as exc:
            self.show_message(str(exc).splitlines()[0], error=True)
            return False
        self._imported[self._model_key()] = (table, str(path))
        self._show_table(table, str(path))
        return True

    def _show_table(self, table: CostTable, source: str) -> None:
        self.table, self.table_source = table, source
        metrics = (self.state.info.metrics or {}).get("val_miou") if self.state.info else None
        metrics = metrics if isinstance(metrics, dict) else None
        self.diagram.set_breakdown(cost_breakdown(self.state.net, table, metrics))
        where = f"from {Path(source).name}" if source else "measured here"
        spread = table.full_network_spread()
        numbers = f"; full network {spread[0]:.1f} ms (p10 {spread[1]:.1f}, p90 {spread[2]:.1f})" if spread else ""
        device = table.device_description or table.device
        self.costs_label.setText(f"Costs {where}: {device}, {_hw(table.input_size)} (H×W){numbers}")
        self.costs_label.setToolTip(source or "measured on this machine, kept in memory for this session")
        self.measure_button.setText("Measure again" if not source else "Measure here")
        warnings = table.warnings()
        if warnings:
            self.show_message("Latency not trustworthy: " + "; ".join(warnings)
                              + (". Press 'Measure again' on an idle machine." if not source else "."), error=True)
            return
        if source:
            self.show_message(f"Latency table {source} loaded.")

    # --- converting ---------------------------------------------------------------------------
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

    def convert(self) -> None:
        """Convert on a worker as 'mess convert' does, then open the new model folder."""
        from core.models.create import check_output_folder, resolve_classes, resolve_heads

        if self._convert_worker is not None and self._convert_worker.is_running():
            return
        out = self.out_field.text()
        try:
            if not out:
                raise _InputError("choose the output model folder first")
            size = _parse_size(self.size_edit.text())
            classes = self.classes_file if self.classes_combo.currentIndex() >= len(CLASS_SETS) else \
                self.classes_combo.currentText()
            if not classes:
                raise _InputError("choose a classes.json file")
            class_set = resolve_classes(classes)
            heads = resolve_heads(self.heads_combo.currentText().strip())
            replace = self.replace_check.isChecked()
            check_output_folder(out, replace)
            weights = self.weights_edit.text().strip() or None
            if weights and not Path(weights).is_file():
                raise _InputError(f"{weights}: weights file not found")
        except (MessError, _InputError) as exc:
            self._convert_failed(str(exc).splitlines()[0])
            return
        backbone = self.backbone_combo.currentText()

        def job(token):
            from core.models.create import convert_to_folder

            convert_to_folder(backbone, out, class_set, heads, None, None, weights, size, 0, replace)
            return out

        self.convert_button.setEnabled(False)
        self.convert_progress.setVisible(True)
        self.convert_status.setStyleSheet("")
        self.convert_status.setText(f"Converting {backbone}...")
        self._convert_worker = start_job(job, "convert", self, succeeded=self._converted, failed=self._convert_failed,
                                         finished=self._convert_finished)

    def _converted(self, out: str) -> None:
        self.convert_status.setStyleSheet("")
        self.convert_status.setText(f"Saved {out}; opening it.")
        self.state.open_model(out)

    def _convert_failed(self, message: str) -> None:
        self.convert_status.setStyleSheet("color: #b00020;")
        self.convert_status.setText(message)

    def _convert_finished(self) -> None:
        self.convert_button.setEnabled(True)
        self.convert_progress.setVisible(False)

    # --- shutdown -----------------------------------------------------------------------------
    def shutdown(self) -> None:
        self._closing = True          # a measurement's late 'finished' must not start another one
        self._remeasure = False
        for worker in (self._cost_worker, self._convert_worker):
            if worker is not None:
                worker.cancel()
                worker.wait(60_000)


class _InputError(Exception):
    """A form value the user must fix (shown as a one-line message)."""


PAGES.add("model", PageEntry("model", "Model", "Ctrl+1", ModelPage))

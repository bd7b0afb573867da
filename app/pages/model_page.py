"""The Model page: what model is open, a diagram of its backbone with the cost of every piece,
and converting a registered backbone into a new model folder.

Costs (FLOPs and latency per segment and head) are measured on a worker, once per model, size
and device (core.profile.cache), or read from a latency table made by `mess profile` elsewhere.
Which table is shown and when one is measured is core.profile.cost_display's (Qt-free); the page
shows what it says in app.widgets (ModelSummaryBox, CostsBar, ConvertForm) and runs the workers.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QFileDialog, QLabel, QScrollArea, QSplitter, QVBoxLayout, QWidget

from app.pages import PAGES, Page, PageEntry
from app.widgets.convert_form import ConvertForm
from app.widgets.costs_bar import CostsBar
from app.widgets.model_summary_box import ModelSummaryBox
from app.widgets.segment_diagram import SegmentDiagram
from app.workers import JobWorker, start_job
from core.errors import MessError
from core.models.summary import summarize
from core.profile.breakdown import cost_breakdown
from core.profile.cache import COST_CACHE, cost_key
from core.profile.cost_display import NO_COSTS, NOT_MEASURED, CostDisplay, CostsText, Step, measure_key, \
    measuring_text
from core.profile.costs import CostTable

DEFAULT_SIZE = (360, 480)


class _Relay(QObject):
    """Carries progress from a worker's callback to the UI thread (queued)."""

    progress = Signal(int, int)


class ModelPage(Page):
    """Open a model, see it as a diagram with costs, or convert a backbone."""

    title = "Model"

    def __init__(self, state, settings, parent: QWidget | None = None) -> None:
        super().__init__(state, settings, parent)
        self.costs = CostDisplay()           # the table shown, the tables loaded, when to measure
        self._cost_worker: JobWorker | None = None
        self._relay = _Relay(self)
        self._build()
        self._relay.progress.connect(self.costs_bar.set_progress)
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
        self.summary = ModelSummaryBox(left)
        self.summary.open_button.clicked.connect(self.choose_model)
        self.convert_form = ConvertForm(self.settings, left)
        self.convert_form.converted.connect(self.state.open_model)
        column.addWidget(self.summary)
        column.addWidget(self.convert_form)
        column.addStretch(1)
        left_scroll = QScrollArea(self)
        left_scroll.setWidget(left)
        left_scroll.setWidgetResizable(True)
        left_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        left_scroll.setMinimumWidth(340)

        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        self.costs_bar = CostsBar(right)
        self.costs_bar.measure_button.clicked.connect(self.measure_here)
        self.costs_bar.load_table_button.clicked.connect(self.choose_table)
        self.costs_bar.cancel_button.clicked.connect(self.cancel_measure)
        right_layout.addWidget(self.costs_bar)
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
        # the controls by the names the tests and the window's users reach them by
        self.open_button = self.summary.open_button
        self.info_labels = self.summary.info_labels
        self.legend = self.summary.legend
        self.costs_label = self.costs_bar.costs_label
        self.measure_button = self.costs_bar.measure_button
        self.load_table_button = self.costs_bar.load_table_button
        self.cancel_costs_button = self.costs_bar.cancel_button
        form = self.convert_form
        self.backbone_combo, self.heads_combo, self.size_edit = form.backbone_combo, form.heads_combo, form.size_edit
        self.out_field, self.replace_check = form.out_field, form.replace_check
        self.convert_button, self.convert_status = form.convert_button, form.status

    def save_settings(self) -> None:
        self.convert_form.save_settings()

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
        if self.state.net is None or self.costs.imported(self.state.info) is not None:
            return
        if self.costs.measure_now(visible=self.isVisible()):
            self.measure_here()              # else measured when the page is shown, not behind the Live page

    def _on_model_changed(self) -> None:
        net, info = self.state.net, self.state.info
        summary = summarize(net.spec, info)
        self.summary.show_summary(summary, str(info.folder))
        self.show_message(f"Opened {info.folder}")
        # The previous model's diagram goes with its name: until the new model's costs are known the
        # diagram says whose are coming, never shows another model's segments beside this one's name.
        imported = self.costs.opened(info)
        self.diagram.set_breakdown(None, f"Costs of {summary.name}: not measured yet.")
        self.costs_bar.set_line(f"Costs of {summary.name}: not measured yet")
        if imported is not None:
            self._show_table(*imported)
        elif self.costs.measure_now(visible=self.isVisible()):
            self.measure_here()
        else:
            self.diagram.set_breakdown(None, f"The costs of {summary.name} are measured when this page is shown.")

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.costs.pending and self.state.net is not None:
            self.measure_here()

    # --- costs --------------------------------------------------------------------------------
    @property
    def table(self) -> CostTable | None:
        """The table the diagram shows (None: none yet)."""
        return self.costs.table

    @property
    def table_source(self) -> str:
        """"" when measured here, else the latency table file it was loaded from."""
        return self.costs.source

    def _measure_key(self) -> tuple:
        return measure_key(self.state.info, self.state.backend, self.state.precision)

    def measure_here(self) -> None:
        """Show the costs measured on this machine (from memory, else measured on a worker)."""
        net, info = self.state.net, self.state.info
        backend, precision = self.state.backend, self.state.precision
        key = cached = None
        if net is not None:
            size, device = tuple(net.spec.input_size or DEFAULT_SIZE), next(net.parameters()).device
            key = cost_key(net, info.weights_sha256, size, device=device, backend=backend, precision=precision)
            cached = COST_CACHE.get(key)
        busy = self._cost_worker is not None and self._cost_worker.active()
        plan = self.costs.plan(info if net is not None else None, backend, precision, cached=cached, busy=busy)
        if plan.discard_cached:
            COST_CACHE.discard(key)          # already shown: the user asks for a new measurement
        if plan.step is Step.NO_MODEL:
            self.show_message("Open a model first.", error=True)
        elif plan.step is Step.SHOW:
            self._show_table(cached, "")
        elif plan.step is Step.CANCEL:
            self._cost_worker.cancel()       # the new model is measured once the old measurement stops
        elif plan.step is Step.MEASURE:
            self._start_measuring(net, info.weights_sha256, size, device=device)

    def _start_measuring(self, net, sha: str, size: tuple[int, int], device) -> None:
        relay = self._relay
        backend, precision = self.state.backend, self.state.precision

        def job(token):
            def progress(done: int, total: int) -> None:
                token.check()
                relay.progress.emit(done, total)

            return COST_CACHE.measure(net, sha, size, device, progress=progress, backend=backend, precision=precision)

        self.costs_bar.measuring(measuring_text(size, device, backend=backend, precision=precision))
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

    def _measured(self, model_key: tuple, table: CostTable) -> None:
        print(f"MESS Studio: costs measured on {table.backend} {table.precision}", flush=True)   # smoke tests read it
        if model_key == self._measure_key():
            self._show_table(table, "")

    def _measure_finished(self) -> None:
        self.costs_bar.stopped()
        if self.costs.stopped(has_model=self.state.net is not None):
            self.measure_here()
            return
        if self.table is None:
            self.costs_bar.costs_label.setText(NOT_MEASURED)
            if self.diagram.breakdown is None:
                self.diagram.set_breakdown(None, NO_COSTS)

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
        self._display(table, self.costs.load(self.state.info, table, str(path)))
        return True

    def _show_table(self, table: CostTable, source: str) -> None:
        self._display(table, self.costs.show(table, source))

    def _display(self, table: CostTable, text: CostsText) -> None:
        metrics = (self.state.info.metrics or {}).get("val_miou") if self.state.info else None
        metrics = metrics if isinstance(metrics, dict) else None
        self.diagram.set_breakdown(cost_breakdown(self.state.net, table, metrics))
        self.costs_bar.show_table(text)
        if text.message:
            self.show_message(text.message, error=text.error)

    # --- shutdown -----------------------------------------------------------------------------
    def shutdown(self) -> None:
        self.costs.close()            # a measurement's late 'finished' must not start another one
        if self._cost_worker is not None:
            self._cost_worker.cancel()
            self._cost_worker.wait(60_000)
        self.convert_form.shutdown()


PAGES.add("model", PageEntry("model", "Model", "Ctrl+1", factory=ModelPage))

"""The Search page: calibrate on a labelled split (or, label-free, on your own footage), search every exit
configuration, and pick one for a budget on the Pareto front; measure its speed-up against the full network
(interleaved, on images the search did not calibrate on, as `mess eval --config` measures); apply it to the Live
page or save it as `mess search --out` does.

The work (calibration, latency measurement, search) is core.search.session.search_job on a worker;
moving the budget afterwards only re-reads the search result (no recomputation). What the page shows is a
core.search.page_model.SearchPageModel; the boxes are in app/widgets/search_*.py, the configuration files
(load, save, save the front) in app.pages.search_files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QSplitter, QVBoxLayout, QWidget

from app.pages import PAGES, Page, PageEntry
from app.pages.search_files import SearchFiles
from app.widgets.pareto_panel import ParetoPanel
from app.widgets.search_chosen_box import ChosenConfigBox
from app.widgets.search_inputs import SearchInputsPanel
from app.workers import JobWorker, start_job
from core.errors import ConfigError, MessError
from core.jobs import Progress
from core.profile.costs import CostTable
from core.search.budget_model import budget_mark
from core.search.calibration import LABELS
from core.search.measure import MeasuredSpeedup, measure_chosen
from core.search.page_model import SearchPageModel, search_request
from core.search.page_text import progress_text
from core.search.session import Budget, SearchOutcome, search_job


class SearchPage(SearchFiles, Page):
    """Inputs on the left; the Pareto front and the chosen configuration on the right."""

    title = "Search"

    def __init__(self, state, settings, parent: QWidget | None = None) -> None:
        super().__init__(state, settings, parent)
        self.model = SearchPageModel()
        self._worker: JobWorker | None = None
        self._build()
        self._restore()
        state.model_changed.connect(self._on_model_changed)
        state.backend_changed.connect(lambda *_: self._show_backend())

    # --- layout -----------------------------------------------------------------------------
    def _build(self) -> None:
        self.inputs = SearchInputsPanel(self.model.budget, self)
        self.data_box, self.latency_box = self.inputs.data_box, self.inputs.latency_box
        self.budget_box, self.run_bar = self.inputs.budget_box, self.inputs.run_bar
        self.latency_box.table_wanted.connect(self.choose_table)
        self._show_backend()
        self.budget_box.axis_changed.connect(self._on_axis_changed)
        self.budget_box.changed.connect(self._apply_budget)
        self.run_bar.search_button.clicked.connect(self.start_search)
        self.run_bar.cancel_button.clicked.connect(self.cancel)
        self.run_bar.cancel_shortcut.activated.connect(self.cancel)

        right = QSplitter(Qt.Orientation.Vertical, self)
        self.pareto = ParetoPanel(right)
        self.pareto.plot.point_clicked.connect(self.select)
        self.pareto.plot.point_hovered.connect(lambda index: self.pareto.show_hovered(self.result(), index))
        self.chosen_box = ChosenConfigBox(right)
        c = self.chosen_box
        c.apply_button.clicked.connect(self.apply_to_live)
        c.save_button.clicked.connect(self.choose_save_path)
        c.load_button.clicked.connect(self.choose_config_to_load)
        c.load_button.setEnabled(self.state.net is not None)
        c.save_front_button.clicked.connect(self.choose_front_path)
        c.measure_button.clicked.connect(self.measure_speedup)
        right.addWidget(self.pareto)
        right.addWidget(self.chosen_box)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 2)

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.inputs)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([350, 900])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(splitter)
        self._alias_widgets()

    def _alias_widgets(self) -> None:
        """The boxes' widgets under the page's names (tests, app/screenshots.py and the menus use them)."""
        d, t, b, r, c = self.data_box, self.latency_box, self.budget_box, self.run_bar, self.chosen_box
        self.reference_combo, self.data_field, self.video_button, self.split_combo, self.limit_spin = (
            d.reference_combo, d.data_field, d.video_button, d.split_combo, d.limit_spin)
        self.here_radio, self.table_radio, self.table_label, self.load_table_button = (
            t.here_radio, t.table_radio, t.table_label, t.load_table_button)
        self.kind_combo, self.cost_combo, self.slider, self.value_spin = (
            b.kind_combo, b.cost_combo, b.slider, b.value_spin)
        self.search_button, self.cancel_button, self.cancel_shortcut, self.progress, self.status = (
            r.search_button, r.cancel_button, r.cancel_shortcut, r.progress, r.status)
        self.chosen_labels, self.bars = c.labels, c.bars
        self.apply_button, self.save_button, self.load_button, self.save_front_button = (
            c.apply_button, c.save_button, c.load_button, c.save_front_button)
        self.plot, self.hover_label = self.pareto.plot, self.pareto.hover_label
        self.measure_button = c.measure_button

    # --- what the model holds ---------------------------------------------------------------------
    @property
    def outcome(self) -> SearchOutcome | None:
        return self.model.outcome

    @property
    def chosen(self) -> int | None:
        return self.model.chosen

    @property
    def table(self) -> CostTable | None:
        return self.model.table

    def result(self):
        return self.outcome.result if self.outcome is not None else None

    def label_free(self) -> bool:
        return self.data_box.label_free()

    def kind(self) -> str:
        return self.budget_box.kind()

    def budget(self) -> Budget:
        """The budget as set: the slider's exact value (the spin box shows it rounded) or the typed one."""
        return self.budget_box.budget()

    def report_for(self, index: int | None):
        """The held-out report when ``index`` is the budget's choice (a clicked configuration has none)."""
        return self.model.report_for(index)

    # --- settings -----------------------------------------------------------------------------
    def _restore(self) -> None:
        s = self.settings
        self.data_box.restore(s)
        problem = self.model.restore_table(s.get("search/table", ""))
        self._show_table()
        if problem:
            self.show_message(problem, error=True)
        self.table_radio.setChecked(s.get("search/latency", "here") == "table" and self.table is not None)
        self.budget_box.restore(s)

    def save_settings(self) -> None:
        s = self.settings
        self.data_box.save_settings(s)
        s.set("search/latency", "table" if self.table_radio.isChecked() else "here")
        s.set("search/table", self.model.table_path)
        self.budget_box.save_settings(s)

    def show_message(self, text: str, error: bool = False) -> None:
        self.run_bar.show_message(text, error)

    # --- latency table ----------------------------------------------------------------------------
    def _show_backend(self) -> None:
        self.latency_box.show_backend(self.state.backend, self.state.precision)

    def _show_table(self) -> None:
        self.latency_box.show_table(self.model.table_text(), self.model.table_path, loaded=self.table is not None)

    def choose_table(self) -> None:
        path = self.model.table_path
        path, _ = QFileDialog.getOpenFileName(self, "Load a latency table (from 'mess profile')",
                                              str(Path(path).parent) if path else "",
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
        self.model.set_table(table, str(path))
        self._show_table()
        self.table_radio.setChecked(True)
        self.show_message(f"Latency table loaded: {self.model.table_text()}")
        return True

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
        d = self.data_box
        try:
            request = search_request(d.data_field.text(), label_free=d.label_free(), split=d.split(),
                                     limit=d.limit(), table=self.model.table_for_search(self.latency_box.use_table()),
                                     table_path=self.model.table_path, backend=self.state.backend,
                                     precision=self.state.precision)
        except ConfigError as exc:
            self.show_message(str(exc), error=True)
            return
        self.save_settings()
        model_key = (str(folder), info.weights_sha256)
        self._start(lambda token: search_job(net, info, folder, request=request, cancel=token), "search",
                    succeeded=lambda outcome: self._on_searched(model_key, outcome),
                    starting="Opening the calibration data...", cancelled="Search cancelled.")

    def measure_speedup(self) -> None:
        """Run the chosen configuration and the full network interleaved on a worker (core.search.measure)."""
        if self.running() or not self.model.can_measure() or self.state.net is None:
            return
        net, outcome, index = self.state.net, self.outcome, self.chosen
        self._start(lambda token: measure_chosen(net, outcome, index, cancel=token), "measure",
                    succeeded=lambda measured: self._on_measured(outcome, measured),
                    starting="Measuring speed-up...", cancelled="Speed-up measurement cancelled.")

    def _start(self, job: Callable, name: str, *, succeeded: Callable, starting: str, cancelled: str) -> None:
        """Run ``job`` (a core.jobs job factory) on the page's worker: progress, Cancel and Esc while it runs."""
        self._set_running(True)
        self.show_message(starting)
        self._worker = start_job(job, name, self, progress=self._on_progress, succeeded=succeeded,
                                 failed=lambda message: self.show_message(message, error=True),
                                 cancelled=lambda: self.show_message(cancelled), finished=self._on_job_finished)

    def _on_measured(self, outcome: SearchOutcome, measured: MeasuredSpeedup) -> None:
        if outcome is not self.outcome:
            self.show_message("The search changed during the measurement: measure again.", error=True)
            return
        self.model.set_measured(measured)
        self._show_chosen()
        self.show_message(f"Measured x{measured.speedup:.2f} on {measured.images} images.")

    def _set_running(self, running: bool) -> None:
        self.run_bar.set_running(running)
        self._update_measure_button(running)

    def _update_measure_button(self, running: bool | None = None) -> None:
        running = self.running() if running is None else running
        self.measure_button.setEnabled(self.model.can_measure() and not running)

    def _on_job_finished(self) -> None:
        self._set_running(False)

    def cancel(self) -> None:
        if self.running():
            self._worker.cancel()
            self.show_message("Cancelling...")

    def _on_progress(self, event: Progress) -> None:
        self.run_bar.show_progress(event.done, event.total)
        self.show_message(progress_text(event))

    def _on_searched(self, model_key: tuple, outcome: SearchOutcome) -> None:
        info = self.state.info
        if info is None or model_key != (str(self.state.folder), info.weights_sha256):
            self.show_message("The model changed during the search: search again.", error=True)
            return
        self.model.set_outcome(outcome)
        self.plot.set_result(outcome.result, self.budget().axis, label_free=outcome.reference != LABELS)
        self.show_message(self.model.searched_text())
        self.save_front_button.setEnabled(True)
        self.budget_box.update_range()
        self._apply_budget()

    def _on_model_changed(self) -> None:
        self.load_button.setEnabled(self.state.net is not None)
        if self.running():
            self.cancel()
        self.model.set_outcome(None)
        self.plot.clear_result()
        self._show_chosen()
        self.save_front_button.setEnabled(False)
        self.budget_box.update_range()
        if self.table is not None and self.state.net is not None:
            try:
                self.table.check_matches(self.state.net, self.model.table_path)
            except ConfigError as exc:
                self.show_message(f"{exc} — load another table or use this machine.", error=True)
                return
        self.show_message("")

    # --- the chosen configuration -------------------------------------------------------------------
    def _on_axis_changed(self) -> None:
        if self.outcome is not None:
            self.plot.set_axis(self.budget().axis)

    def _apply_budget(self) -> None:
        """Choose the best configuration within the budget (no recomputation) and mark it."""
        if self.outcome is None:
            return
        self.plot.set_budget(self.kind(), budget_mark(self.budget(), self.outcome.result))
        self.model.choose_for_budget()
        self._show_chosen()

    def select(self, index: int) -> None:
        """Choose configuration ``index`` (a click on the front)."""
        if self.outcome is not None:
            self.model.select(index)
            self._show_chosen()

    def _show_chosen(self) -> None:
        self.plot.set_chosen(self.chosen)
        self.chosen_box.show_config(self.model.texts(), self.model.fractions(), why=self.model.why)
        self._update_measure_button()

    def apply_to_live(self) -> None:
        if self.outcome is None or self.chosen is None:
            return
        config = self.outcome.result.config(self.chosen)
        self.state.set_config(config)
        self.show_message(f"Applied to Live: {' › '.join(config.exits)}")

    # --- shutdown -----------------------------------------------------------------------------
    def shutdown(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            self._worker.wait(60_000)


PAGES.add("search", PageEntry("search", "Search", "Ctrl+3", factory=SearchPage))

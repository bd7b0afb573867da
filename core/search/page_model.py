"""What the Search page shows, without Qt: the imported latency table, the search's outcome, the budget and
the configuration chosen (by the budget, with its held-out check, or by a click on the front) and its speed-up
measured against the full network (core.search.measure).

The page displays a SearchPageModel; `mess search` does the same steps through core.search.session.
"""

from __future__ import annotations

from pathlib import Path

from core.errors import ConfigError, MessError
from core.profile.costs import CostTable
from core.search.budget_model import BudgetModel, budget_text
from core.search.holdout import HeldOutReport
from core.search.measure import MeasuredSpeedup
from core.search.page_text import (CLICKED, budget_why, chosen_texts, held_out_text, measured_text, searched_text,
                                    table_text)
from core.search.session import SearchOutcome, SearchRequest, choose

THIS_MACHINE = "this machine"


class SearchPageModel:
    """``choose_for_budget`` and ``select`` set ``chosen``; ``texts`` describes it."""

    def __init__(self, budget: BudgetModel | None = None) -> None:
        self.budget = budget or BudgetModel()
        self.table: CostTable | None = None          # an imported latency table
        self.table_path = ""
        self.outcome: SearchOutcome | None = None
        self.chosen: int | None = None
        self.why = ""
        self.held_out: HeldOutReport | None = None    # the held-out report of the budget's choice
        self._held_out_index: int | None = None
        self.measured: MeasuredSpeedup | None = None  # the last speed-up measured (core.search.measure)

    # --- the latency table ---------------------------------------------------------------------
    def set_table(self, table: CostTable | None, path: str = "") -> None:
        self.table, self.table_path = table, (str(path) if table is not None else "")

    def restore_table(self, path: str) -> str | None:
        """The table remembered in the settings, when the file is still there and readable; else what
        went wrong, for the page to say (None when nothing was remembered or the file is gone)."""
        if not path or not Path(path).is_file():
            return None
        try:
            self.set_table(CostTable.load(path), path)
        except MessError as exc:
            self.set_table(None)
            return f"The remembered latency table was not loaded: {exc}"
        return None

    def table_for_search(self, use_table: bool) -> CostTable | None:
        """The latency table a search uses: the imported one when asked for and loaded; None: measure here."""
        return self.table if use_table and self.table is not None else None

    def table_text(self) -> str:
        return table_text(self.table, self.table_path)

    def latency_source(self) -> str:
        """Whose latency the outcome's costs are: this machine's or the imported table's file."""
        if self.outcome is None or self.table is None or self.outcome.table is not self.table:
            return THIS_MACHINE
        return Path(self.table_path).name

    # --- the outcome ---------------------------------------------------------------------------
    def set_outcome(self, outcome: SearchOutcome | None) -> None:
        """A new search (or None: no search for this model); nothing chosen yet."""
        self.outcome = outcome
        self.budget.set_result(outcome.result if outcome is not None else None)
        self.chosen, self.why = None, ""
        self.measured = None

    def searched_text(self) -> str:
        o = self.outcome
        assert o is not None
        return searched_text(o.result, images=o.images, size=o.input_size, source=self.latency_source(),
                             warnings=o.warnings)

    # --- the choice ----------------------------------------------------------------------------
    def choose_for_budget(self) -> int | None:
        """The best configuration within the budget (no recomputation); None, and ``why`` says so, when nothing
        fits. Without an outcome nothing changes."""
        if self.outcome is None:
            return self.chosen
        budget = self.budget.budget()
        try:
            index, self.held_out = choose(self.outcome.result, budget, self.outcome.folds)
        except ConfigError as exc:
            self.held_out = None
            self.chosen, self.why = None, str(exc)
            return None
        self._held_out_index = index
        self.chosen, self.why = index, budget_why(budget_text(budget), self.held_out)
        return index

    def select(self, index: int) -> None:
        """Choose configuration ``index`` (a click on the front)."""
        if self.outcome is not None:
            self.chosen, self.why = index, CLICKED

    def clear_choice(self) -> None:
        self.chosen, self.why = None, ""

    # --- the measured speed-up --------------------------------------------------------------------
    def can_measure(self) -> bool:
        """A configuration is chosen, and the search says which images it calibrated on."""
        return self.chosen is not None and self.outcome is not None and self.outcome.request is not None

    def set_measured(self, measured: MeasuredSpeedup | None) -> None:
        self.measured = measured

    def measured_text(self) -> str:
        assert self.outcome is not None and self.chosen is not None
        source = self.latency_source()
        return measured_text(self.measured, self.outcome.result, self.chosen,
                             predicted_from=None if source == THIS_MACHINE else source)

    def report_for(self, index: int | None) -> HeldOutReport | None:
        """The held-out report when ``index`` is the budget's choice (a clicked configuration has none)."""
        return self.held_out if index is not None and index == self._held_out_index else None

    def texts(self) -> dict[str, str] | None:
        """The chosen configuration in words, one text per core.search.page_text.CHOSEN_FIELDS key; None when
        nothing is chosen."""
        if self.chosen is None or self.outcome is None:
            return None
        held_out = held_out_text(self.report_for(self.chosen), folded=self.outcome.folds is not None)
        return chosen_texts(self.outcome.result, self.chosen, reference=self.outcome.reference, why=self.why,
                            held_out=held_out, measured=self.measured_text())

    def fractions(self) -> dict[str, float] | None:
        """The share of images leaving at each kept exit of the chosen configuration."""
        if self.chosen is None or self.outcome is None:
            return None
        return self.outcome.result.fractions(self.chosen)


def search_request(data: str, *, label_free: bool, split: str, limit: int | None, table: CostTable | None,
                   table_path: str, backend: str, precision: str) -> SearchRequest:
    """The request a Search page's inputs make; a one-line ConfigError when the calibration data is missing."""
    if not data:
        raise ConfigError("Choose the calibration footage (a folder or a video) first." if label_free else
                          "Choose the calibration dataset folder first.")
    if not (Path(data).exists() if label_free else Path(data).is_dir()):
        raise ConfigError(f"{data}: {'file or folder' if label_free else 'dataset folder'} is missing")
    return SearchRequest(None if label_free else data, split, limit, table=table,
                         table_source=table_path or "latency table", unlabelled=data if label_free else None,
                         backend=backend, precision=precision)

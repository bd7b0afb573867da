"""The Search page's left panel: the calibration data, the device latency and the budget (scrolling when the
window is short), and under them the run controls."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QScrollArea, QVBoxLayout, QWidget

from app.widgets.search_budget_box import BudgetBox
from app.widgets.search_data_box import CalibrationDataBox
from app.widgets.search_latency_box import LatencySourceBox
from app.widgets.search_run_bar import SearchRunBar
from core.search.budget_model import BudgetModel


class SearchInputsPanel(QWidget):
    """``data_box``, ``latency_box``, ``budget_box`` (displaying ``budget``) and ``run_bar``."""

    def __init__(self, budget: BudgetModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumWidth(330)
        column_widget = QWidget(self)
        column = QVBoxLayout(column_widget)
        self.data_box = CalibrationDataBox(column_widget)
        self.latency_box = LatencySourceBox(column_widget)
        self.budget_box = BudgetBox(budget, column_widget)
        for box in (self.data_box, self.latency_box, self.budget_box):
            column.addWidget(box)
        column.addStretch(1)
        self.scroll = QScrollArea(self)
        self.scroll.setWidget(column_widget)
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.scroll, 1)
        self.run_bar = SearchRunBar(self)
        layout.addWidget(self.run_bar)

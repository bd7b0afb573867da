"""The Search page's left panel: the calibration data, the device latency and the budget (scrolling when the
window is short), and under them the run controls."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QScrollArea, QVBoxLayout, QWidget

from app.widgets.search_budget_box import BudgetBox
from app.widgets.search_data_box import CalibrationDataBox
from app.widgets.search_latency_box import LatencySourceBox
from app.widgets.search_run_bar import SearchRunBar
from core.search.budget_model import BudgetModel


class FittingScrollArea(QScrollArea):
    """Scrolls vertically only and is never narrower than its content's minimum width, so that a splitter or a
    narrow window cannot cut its content off at the right (with the horizontal scroll bar off, it would)."""

    def __init__(self, content: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidget(content)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        content = self.widget()
        if content is None:
            return hint
        width = content.minimumSizeHint().width() + 2 * self.frameWidth() + self.verticalScrollBar().sizeHint().width()
        return QSize(max(hint.width(), width), hint.height())


class SearchInputsPanel(QWidget):
    """``data_box``, ``latency_box``, ``budget_box`` (displaying ``budget``) and ``run_bar``."""

    def __init__(self, budget: BudgetModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        column_widget = QWidget(self)
        column = QVBoxLayout(column_widget)
        self.data_box = CalibrationDataBox(column_widget)
        self.latency_box = LatencySourceBox(column_widget)
        self.budget_box = BudgetBox(budget, column_widget)
        for box in (self.data_box, self.latency_box, self.budget_box):
            column.addWidget(box)
        column.addStretch(1)
        self.scroll = FittingScrollArea(column_widget, self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.scroll, 1)
        self.run_bar = SearchRunBar(self)
        layout.addWidget(self.run_bar)

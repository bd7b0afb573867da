"""The Search page's Pareto front: the plot, and under it the configuration the pointer is on."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.widgets.pareto_plot import ParetoPlot, describe_config
from core.search.search import SearchResult

HOVER_PROMPT = "Hover a point of the Pareto front to see its configuration; click it to select it."


class ParetoPanel(QWidget):
    """``plot`` (a ParetoPlot: its signals carry configuration indices) and ``hover_label``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.plot = ParetoPlot(self)
        layout.addWidget(self.plot, 1)
        self.hover_label = QLabel(HOVER_PROMPT, self)
        self.hover_label.setWordWrap(True)
        self.hover_label.setMinimumHeight(48)
        self.hover_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.hover_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.hover_label)

    def show_hovered(self, result: SearchResult | None, index: int) -> None:
        """The hovered configuration's description; the prompt when none is (``index`` < 0) or no result."""
        self.hover_label.setText(HOVER_PROMPT if index < 0 or result is None else describe_config(result, index))

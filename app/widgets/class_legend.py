"""A legend of a model's classes: a colour swatch and the name of each, in class-index order."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPixmap
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget


class ClassLegend(QWidget):
    """Swatches in ``columns`` columns; ``set_classes([(name, (r, g, b)), ...])`` refills it."""

    def __init__(self, columns: int = 2, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.columns = columns
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setHorizontalSpacing(10)
        self._grid.setVerticalSpacing(2)
        self.labels: list[QLabel] = []

    def set_classes(self, classes: list[tuple[str, tuple[int, int, int]]]) -> None:
        while self._grid.count():
            item = self._grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.labels = []
        rows = (len(classes) + self.columns - 1) // self.columns
        for i, (name, rgb) in enumerate(classes):
            swatch = QLabel(self)
            pixmap = QPixmap(14, 14)
            pixmap.fill(QColor(*rgb))
            swatch.setPixmap(pixmap)
            text = QLabel(f"{i} {name}", self)
            text.setToolTip(f"class {i}: {name}, RGB {rgb[0]}, {rgb[1]}, {rgb[2]}")
            row, column = i % rows, 2 * (i // rows)
            self._grid.addWidget(swatch, row, column)
            self._grid.addWidget(text, row, column + 1)
            self.labels.append(text)

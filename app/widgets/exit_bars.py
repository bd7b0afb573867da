"""Where the images leave: a horizontal bar per kept exit with the share of images taken there."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QWidget


class ExitBars(pg.PlotWidget):
    """``set_fractions({exit: fraction})`` draws one bar per exit, shallowest at the top."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        plot = self.getPlotItem()
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setMouseEnabled(x=False, y=False)
        plot.getViewBox().invertY(True)
        plot.setLabel("bottom", "images leaving there (%)")
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            axis.setPen(pg.mkPen(70, 70, 80))
            axis.setTextPen(pg.mkPen(30, 30, 40))
        plot.getAxis("left").setWidth(170)
        self.bars = pg.BarGraphItem(x0=[], y=[], height=0.6, width=[], brush=pg.mkBrush(40, 96, 170, 200), pen=None)
        self.addItem(self.bars)
        self.labels: list[pg.TextItem] = []
        self.fractions: dict[str, float] = {}
        self.set_fractions(None)

    def set_fractions(self, fractions: dict[str, float] | None) -> None:
        for label in self.labels:
            self.removeItem(label)
        self.labels = []
        self.fractions = dict(fractions or {})
        names = list(self.fractions)
        values = [100.0 * self.fractions[n] for n in names]
        self.bars.setOpts(x0=[0] * len(values), y=list(range(len(values))), width=values, height=0.6)
        self.getPlotItem().getAxis("left").setTicks([[(i, name) for i, name in enumerate(names)]])
        for i, value in enumerate(values):
            inside = value > 80          # a long bar carries its label inside, so it is never cut off
            label = pg.TextItem(f"{value:.0f} %", color=(255, 255, 255) if inside else (30, 30, 40),
                                anchor=(1, 0.5) if inside else (0, 0.5))
            label.setPos(value - 1.5 if inside else value + 1.5, i)
            self.addItem(label)
            self.labels.append(label)
        self.setXRange(0, 112, padding=0)
        self.setYRange(-0.6, max(len(values), 1) - 0.4, padding=0)

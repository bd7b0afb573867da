"""The Live page's two plots: the latency of the last frames, and how many frames left at each exit.

Both are plain views: the page calls ``set_points`` / ``set_counts`` from a timer (at
most ~15 times a second, and only when something changed), never once per frame.
Colours are the exit ramp of core.runtime.video.overlay (green shallow .. red final), the
same as the border and badge drawn on the frame.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from core.runtime.video.overlay import exit_colour

AXIS_PEN = (70, 70, 80)
TEXT_PEN = (30, 30, 40)


def _style(plot: pg.PlotWidget) -> None:
    item = plot.getPlotItem()
    item.setMenuEnabled(False)
    item.hideButtons()
    item.setMouseEnabled(x=False, y=False)
    for name in ("left", "bottom"):
        axis = item.getAxis(name)
        axis.setPen(pg.mkPen(*AXIS_PEN))
        axis.setTextPen(pg.mkPen(*TEXT_PEN))


def nice_ceiling(value: float) -> float:
    """A round axis end at or above ``value`` (1, 2 or 5 times a power of ten): the axis only changes, and
    its ticks are only laid out again, when the data outgrow it or shrink well below it."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


class LatencyPlot(pg.PlotWidget):
    """Latency (ms) of the last frames, newest on the right: one point per frame in its exit's colour, a thin
    line through them, the full network's latency in grey when it runs beside (side by side), and the
    deadline as a red dashed line in deadline mode.

    The axes are fixed (x: the last ``window`` frames; y: a round ceiling), so a redraw moves points, not axes.
    """

    def __init__(self, parent: QWidget | None = None, window: int = 200) -> None:
        super().__init__(parent, background="w")
        _style(self)
        self.window = window
        self.setLabel("left", "latency (ms)", color="#222")
        self.setLabel("bottom", "frames ago", color="#222")
        self.showGrid(x=False, y=True, alpha=0.25)
        item = self.getPlotItem()
        item.disableAutoRange()
        self.setXRange(-window, 0, padding=0.02)
        self._top = 0.0
        self.full_line = pg.PlotDataItem(pen=pg.mkPen(150, 150, 160, width=1.5, style=pg.QtCore.Qt.PenStyle.DashLine))
        self.line = pg.PlotDataItem(pen=pg.mkPen(120, 120, 130, width=1))
        self.points = pg.ScatterPlotItem(size=7, pen=None)
        self.deadline_line = pg.InfiniteLine(angle=0, movable=False,
                                             pen=pg.mkPen(200, 40, 40, width=1.5, style=pg.QtCore.Qt.PenStyle.DashLine))
        self.deadline_line.setVisible(False)
        for plotted in (self.full_line, self.line, self.points, self.deadline_line):
            self.addItem(plotted)
        self._brushes: dict[float, object] = {}
        self.count = 0
        self.deadline_ms: float | None = None
        self._highest = 100.0
        self._set_top(100.0)

    def set_deadline(self, ms: float | None) -> None:
        """The deadline's line (None: none); the axis keeps it in view."""
        if ms == self.deadline_ms:
            return
        self.deadline_ms = ms
        self.deadline_line.setVisible(ms is not None)
        if ms is not None:
            self.deadline_line.setValue(ms)
        self._set_top(self._highest)

    def _brush(self, depth: float):
        key = round(float(depth), 3)
        if key not in self._brushes:
            self._brushes[key] = pg.mkBrush(*exit_colour(key))
        return self._brushes[key]

    def _set_top(self, highest: float) -> None:
        self._highest = highest
        top = nice_ceiling(max(highest, self.deadline_ms or 0.0) * 1.1)
        if top != self._top:
            self._top = top
            self.setYRange(0, top, padding=0)

    def set_points(self, history: list[tuple[int, float, float, float]]) -> None:
        """``history``: (frame number, latency ms, exit depth, full-network latency ms or NaN) per frame."""
        history = history[-self.window:]
        self.count = len(history)
        if not history:
            for plotted in (self.full_line, self.line):
                plotted.setData([], [])
            self.points.setData([], [])
            return
        newest = history[-1][0]
        xs = np.fromiter((h[0] - newest for h in history), float, len(history))
        ys = np.fromiter((h[1] for h in history), float, len(history))
        full = np.fromiter((h[3] for h in history), float, len(history))
        self.line.setData(xs, ys)
        self.points.setData(x=xs, y=ys, brush=[self._brush(h[2]) for h in history])
        shown = np.isfinite(full)
        if shown.any():
            self.full_line.setData(xs[shown], full[shown])
        else:
            self.full_line.setData([], [])
        values = np.concatenate([ys, full[shown]])
        self._set_top(float(min(values.max(), 1.5 * np.percentile(values, 90))))   # a lone spike is not the scale


class ExitHistogram(pg.PlotWidget):
    """One bar per exit: frames that left there since the start (or the last reset), with its share on top."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        _style(self)
        self.setLabel("left", "frames", color="#222")
        self.getPlotItem().disableAutoRange()
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.7, brushes=[], pen=None)
        self.addItem(self.bars)
        self.labels: list[pg.TextItem] = []
        self.counts: dict[str, int] = {}
        self._names: list[str] = []
        self._top = 0.0
        self._shape: tuple = ()

    def _layout(self, bars: list[tuple[str, int, float]]) -> None:
        """Ticks, colours and count labels for these exits (only when the exits change)."""
        names = [name for name, _, _ in bars]
        for label in self.labels[len(names):]:
            self.removeItem(label)
        del self.labels[len(names):]
        while len(self.labels) < len(names):
            label = pg.TextItem("", color=TEXT_PEN, anchor=(0.5, 1))
            self.addItem(label)
            self.labels.append(label)
        self._names = names
        self._brushes = [pg.mkBrush(*exit_colour(depth)) for _, _, depth in bars]
        self.getPlotItem().getAxis("bottom").setTicks([[(i, name) for i, name in enumerate(names)]])
        self.setXRange(-0.6, max(len(bars), 1) - 0.4, padding=0)

    def set_counts(self, bars: list[tuple[str, int, float]]) -> None:
        """``bars``: (label, count, exit depth) per exit, shallow to deep."""
        shape = tuple((name, round(depth, 4)) for name, _, depth in bars)
        if shape != self._shape:
            self._shape = shape
            self._layout(bars)
        self.counts = {name: count for name, count, _ in bars}
        heights = [count for _, count, _ in bars]
        self.bars.setOpts(x=list(range(len(bars))), height=heights, width=0.7, brushes=self._brushes)
        total = sum(heights)
        for i, (label, count) in enumerate(zip(self.labels, heights)):
            label.setText(f"{count}\n{100 * count / total:.0f} %" if total else f"{count}")
            label.setPos(i, count)
        top = nice_ceiling(max(heights, default=0) * 1.6)   # room for the two-line labels above the bars
        if top != self._top:
            self._top = top
            self.setYRange(0, top, padding=0)

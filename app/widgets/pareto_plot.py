"""The search's configurations as a scatter plot: cost (mean latency or GFLOPs) against predicted mIoU.

The Pareto front is drawn on top (hover a point for its configuration, click to select it); a
sample of all the other configurations is drawn faintly behind (a search evaluates 100k+: a
few thousand show the cloud's shape and keep the plot fast); the full network, the chosen
configuration and the budget are marked.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, Qt, Signal
from PySide6.QtWidgets import QWidget

from core.search.search import SearchResult

MAX_BACKGROUND = 6000
AXIS_TITLES = {"latency": "mean latency (ms)", "gflops": "mean GFLOPs"}
FRONT_BRUSH = pg.mkBrush(40, 96, 170, 230)
CHOSEN_PEN = pg.mkPen(224, 123, 0, width=3)
BUDGET_PEN = pg.mkPen(200, 30, 45, width=2, style=Qt.PenStyle.DashLine)


def describe_config(result: SearchResult, index: int) -> str:
    """Several lines: the exits, the thresholds, predicted mIoU and costs of one configuration."""
    config = result.config(index)
    lines = [" › ".join(config.exits)]
    if config.mode == "dynamic" and len(config.exits) > 1:
        lines.append(f"th_pix {config.th_pix[0]:g} · th_img {config.th_img[0]:g} · {config.policy.confidence}")
    else:
        lines.append(f"{config.mode}: every image leaves at {config.exits[-1]}")
    lines.append(f"mIoU {result.miou[index]:.2f} % · {result.mean_latency_ms[index]:.1f} ms mean "
                 f"({result.p95_latency_ms[index]:.1f} p95) · {result.mean_gflops[index]:.2f} GFLOPs")
    return "\n".join(lines)


class ParetoPlot(pg.PlotWidget):
    """``set_result`` draws a search; ``point_clicked`` / ``point_hovered`` carry configuration indices."""

    point_clicked = Signal(int)
    point_hovered = Signal(int)      # -1 when the pointer leaves the points

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self.result: SearchResult | None = None
        self.axis = "latency"
        self.front = np.zeros(0, dtype=np.int64)
        self.background_indices = np.zeros(0, dtype=np.int64)
        self.chosen: int | None = None
        plot = self.getPlotItem()
        plot.showGrid(x=True, y=True, alpha=0.25)
        plot.setMenuEnabled(False)
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            axis.setPen(pg.mkPen(70, 70, 80))
            axis.setTextPen(pg.mkPen(30, 30, 40))
        plot.setLabel("left", "predicted mIoU (%)")
        plot.setLabel("bottom", AXIS_TITLES[self.axis])
        self.legend = plot.addLegend(offset=(-10, -10), labelTextColor=(30, 30, 40),
                                     brush=pg.mkBrush(255, 255, 255, 220))
        self.cloud = pg.ScatterPlotItem(size=3, pen=None, brush=pg.mkBrush(120, 124, 140, 70),
                                        name="all configurations (sample)")
        self.front_line = pg.PlotDataItem(pen=pg.mkPen(40, 96, 170, 140, width=1.5))
        self.front_points = pg.ScatterPlotItem(size=9, pen=pg.mkPen("w", width=1), brush=FRONT_BRUSH, hoverable=True,
                                               hoverSize=13, hoverBrush=pg.mkBrush(224, 123, 0), tip=self._tip,
                                               name="Pareto front (hover, click)")
        self.full_point = pg.ScatterPlotItem(size=18, symbol="star", pen=pg.mkPen(30, 110, 40),
                                             brush=pg.mkBrush(80, 170, 80),
                                             name="full network")
        self.chosen_point = pg.ScatterPlotItem(size=22, symbol="o", pen=CHOSEN_PEN, brush=None, name="chosen")
        for item in (self.cloud, self.front_line, self.front_points, self.full_point, self.chosen_point):
            self.addItem(item)
        label_style = {"position": 0.06, "color": (200, 30, 45), "fill": (255, 255, 255, 200)}
        self.budget_line = pg.InfiniteLine(angle=90, pen=BUDGET_PEN, movable=False, label="", labelOpts=label_style)
        self.budget_line.setVisible(False)
        self.addItem(self.budget_line, ignoreBounds=True)
        self.front_points.sigClicked.connect(self._clicked)
        self.front_points.sigHovered.connect(self._hovered)

    # --- data -------------------------------------------------------------------------------
    def clear_result(self) -> None:
        self.result = None
        self.front = np.zeros(0, dtype=np.int64)
        for item in (self.cloud, self.front_points, self.full_point, self.chosen_point):
            item.setData([], [])
        self.front_line.setData([], [])
        self.budget_line.setVisible(False)
        self.chosen = None

    def set_result(self, result: SearchResult, axis: str = "latency", label_free: bool = False) -> None:
        """Show ``result``; ``label_free``: its "mIoU" is the agreement with the full network (label-free
        calibration), and the axis says so."""
        self.result = result
        self.getPlotItem().setLabel("left", "agreement with the full network (%)" if label_free
                                    else "predicted mIoU (%)")
        rng = np.random.default_rng(0)
        count = result.count
        self.background_indices = (np.sort(rng.choice(count, MAX_BACKGROUND, replace=False)) if count > MAX_BACKGROUND
                                   else np.arange(count))
        self.axis = ""
        self.set_axis(axis)

    def costs(self) -> np.ndarray:
        assert self.result is not None
        return self.result.mean_latency_ms if self.axis == "latency" else self.result.mean_gflops

    def set_axis(self, axis: str) -> None:
        """Draw against 'latency' or 'gflops' (the front is recomputed for that cost)."""
        if axis == self.axis or self.result is None:
            self.axis = axis
            self.getPlotItem().setLabel("bottom", AXIS_TITLES[axis])
            return
        self.axis = axis
        self.getPlotItem().setLabel("bottom", AXIS_TITLES[axis])
        result, cost = self.result, self.costs()
        self.front = result.pareto_front(axis)
        self.cloud.setData(cost[self.background_indices], result.miou[self.background_indices])
        fx, fy = cost[self.front], result.miou[self.front]
        self.front_points.setData(fx, fy, data=self.front)
        steps_x = np.repeat(fx, 2)[1:]
        steps_y = np.repeat(fy, 2)[:-1]
        self.front_line.setData(steps_x, steps_y)
        full = result.full_index
        self.full_point.setData([cost[full]], [result.miou[full]])
        self.set_chosen(self.chosen)
        self.getPlotItem().enableAutoRange()

    def set_chosen(self, index: int | None) -> None:
        self.chosen = index
        if index is None or self.result is None:
            self.chosen_point.setData([], [])
            return
        self.chosen_point.setData([self.costs()[index]], [self.result.miou[index]])

    def set_budget(self, kind: str | None, value: float = 0.0) -> None:
        """A vertical line at a latency / GFLOPs budget, a horizontal one at an accuracy floor (value = mIoU %)."""
        if kind is None or self.result is None:
            self.budget_line.setVisible(False)
            return
        self.budget_line.setVisible(True)      # first: a hidden line's label does not update its text
        self.budget_line.setAngle(0 if kind == "drop" else 90)
        self.budget_line.setValue(value)
        if kind == "drop":
            self.budget_line.label.setFormat(f"floor {value:.1f} % mIoU")
        else:
            self.budget_line.label.setFormat(f"budget {value:.4g} {'ms' if kind == 'latency' else 'GFLOPs'}")

    # --- positions (for tests and the page) -------------------------------------------------------
    def point_position(self, index: int) -> QPoint:
        """Where configuration ``index`` is drawn, in the viewport's pixel coordinates."""
        assert self.result is not None
        view = self.getPlotItem().getViewBox()
        view.prepareForPaint()       # apply a pending auto-range first
        scene = view.mapViewToScene(QPointF(float(self.costs()[index]), float(self.result.miou[index])))
        return self.mapFromScene(scene)

    # --- events -----------------------------------------------------------------------------
    def _tip(self, x: float, y: float, data) -> str:
        return describe_config(self.result, int(data)) if self.result is not None else ""

    def _clicked(self, item, points, event) -> None:
        if len(points):
            self.point_clicked.emit(int(points[0].data()))

    def _hovered(self, item, points, event) -> None:
        self.point_hovered.emit(int(points[0].data()) if len(points) else -1)

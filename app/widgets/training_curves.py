"""Live training curves: loss per step (raw and smoothed) and validation mIoU per exit and epoch.

A view over a core.train.history.TrainingHistory: the page feeds the history with
Progress events, this widget redraws it on a timer only when it changed (at most
``max_fps`` times a second), so a fast run never floods the UI thread. The exits
are listed beside the mIoU plot (a run of the 'wide' preset has 30 of them):
each with its colour, and a check box that shows or hides its line.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QSplitter, QVBoxLayout, QWidget

from core.models.spec import FINAL_EXIT
from core.train.history import TrainingHistory

STAGE_COLOURS = {1: "#1f77b4", 2: "#ff7f0e"}
FINAL_COLOUR = "#222222"
# A qualitative palette (matplotlib's tab20, strong shades first): neighbours stay distinguishable.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7",
           "#dbdb8d", "#9edae5")


def exit_colour(index: int) -> str:
    """A colour per exit, stable as exits are added (they cycle after 20)."""
    return PALETTE[index % len(PALETTE)]


def _swatch(colour: str) -> QIcon:
    pixmap = QPixmap(14, 14)
    pixmap.fill(QColor(colour))
    return QIcon(pixmap)


def _plot(title: str, ylabel: str) -> pg.PlotWidget:
    plot = pg.PlotWidget(background="w")
    plot.setTitle(title, color="#222", size="10pt")
    plot.setLabel("bottom", "epoch", color="#222")
    plot.setLabel("left", ylabel, color="#222")
    plot.showGrid(x=True, y=True, alpha=0.25)
    for axis in ("left", "bottom"):
        plot.getAxis(axis).setTextPen("#222")
        plot.getAxis(axis).setPen("#777")
    plot.getPlotItem().setClipToView(True)
    plot.getPlotItem().setDownsampling(auto=True, mode="peak")
    return plot


class TrainingCurves(QWidget):
    """Two plots on the axis 'epoch' (stage 2 after stage 1): training loss, val mIoU per exit; an exit list."""

    def __init__(self, parent: QWidget | None = None, max_fps: float = 10.0) -> None:
        super().__init__(parent)
        self.history = TrainingHistory()
        self._drawn = -1
        self.loss_plot = _plot("Training loss", "stage 1 loss")
        self.loss_plot.setToolTip("Thin: the loss of every step (earlier sessions' too, from metrics.jsonl); thick: "
                                  "smoothed; line with dots: epoch means, where a run's metrics have no step losses. "
                                  "Stage 2 has its own scale on the right.")
        self._stage2_box = self._second_axis()
        self.miou_plot = _plot("Validation mIoU", "mIoU (%)")
        self.miou_plot.setToolTip("Validation mIoU of every exit after each epoch; stage-1 heads dashed (they are "
                                  "dropped after stage 1), stage-2 heads solid, the final exit thick black")
        self.legend = QListWidget()
        self.legend.setObjectName("exit-legend")
        self.legend.setToolTip("The exits validated: uncheck one to hide its line")
        self.legend.setMinimumWidth(110)
        self.legend.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.legend.setTextElideMode(Qt.TextElideMode.ElideLeft)
        self.legend.itemChanged.connect(self._legend_toggled)
        self.loss_items: dict[tuple[str, int], pg.PlotDataItem] = {}
        self.val_items: dict[tuple[int, str], pg.PlotDataItem] = {}
        self._boundaries: list[tuple[pg.PlotWidget, pg.InfiniteLine]] = []
        panel = QWidget()
        side = QVBoxLayout(panel)
        side.setContentsMargins(0, 0, 0, 0)
        title = QLabel("Exits")
        title.setStyleSheet("font-weight: bold;")
        side.addWidget(title)
        side.addWidget(self.legend, 1)
        for plot in (self.loss_plot, self.miou_plot):
            plot.setMinimumWidth(200)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        for widget, stretch in ((self.loss_plot, 3), (self.miou_plot, 3), (panel, 1)):
            self.splitter.addWidget(widget)
            self.splitter.setStretchFactor(self.splitter.count() - 1, stretch)
        self.splitter.setSizes([400, 400, 210])
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)
        self._timer = QTimer(self)
        self._timer.setInterval(int(1000 / max_fps))
        self._timer.timeout.connect(self.redraw_if_changed)
        self._timer.start()

    def _second_axis(self) -> pg.ViewBox:
        """A second y scale on the right, for stage 2's loss (its heads' summed distillation loss)."""
        item = self.loss_plot.getPlotItem()
        box = pg.ViewBox()
        item.scene().addItem(box)
        item.getAxis("right").linkToView(box)
        box.setXLink(item)
        item.vb.sigResized.connect(lambda: box.setGeometry(item.vb.sceneBoundingRect()))
        item.getAxis("right").setTextPen("#222")
        item.getAxis("right").setPen("#777")
        return box

    def _loss_box(self, stage: int) -> pg.ViewBox:
        both = self.history.runs_stage1
        return self._stage2_box if stage == 2 and both else self.loss_plot.getPlotItem().vb

    def _label_loss_axes(self) -> None:
        item = self.loss_plot.getPlotItem()
        both = self.history.runs_stage1 and 2 in self.history.stages()
        first = 1 if self.history.runs_stage1 else 2
        item.setLabel("left", f"stage {first} loss", color=STAGE_COLOURS[first])
        if both:
            item.showAxis("right")
            item.setLabel("right", "stage 2 loss", color=STAGE_COLOURS[2])
        else:
            item.hideAxis("right")

    # --- input ----------------------------------------------------------------------
    def set_history(self, history: TrainingHistory) -> None:
        """Show another run (a new start, a resume, a run folder picked); clears the plots."""
        self.history = history
        for item in self.loss_items.values():
            box = item.getViewBox()
            if box is not None:
                box.removeItem(item)
        for item in self.val_items.values():
            self.miou_plot.removeItem(item)
        for plot, line in self._boundaries:
            plot.removeItem(line)
        self.loss_items.clear()
        self.val_items.clear()
        self._boundaries.clear()
        self.legend.clear()
        self._drawn = -1
        for plot in (self.loss_plot, self.miou_plot):     # the whole run's axis: it fills as the run goes
            plot.setXRange(0, max(1, history.total_epochs()), padding=0.02)
        for box in (self.loss_plot.getPlotItem().vb, self._stage2_box, self.miou_plot.getPlotItem().vb):
            box.setYRange(0, 1)
            box.enableAutoRange(axis=pg.ViewBox.YAxis)
        self.redraw_if_changed()

    # --- drawing --------------------------------------------------------------------
    def redraw_if_changed(self) -> None:
        """Redraw from the history if it changed since the last time (the timer calls this)."""
        if self.history.version == self._drawn:
            return
        self._drawn = self.history.version
        self._label_loss_axes()
        self._draw_boundary()
        for stage in self.history.stages():
            self._draw_loss(stage)
            for exit_id in self.history.exits:
                self._draw_val(stage, exit_id)

    def _draw_boundary(self) -> None:
        history = self.history
        if self._boundaries or not (history.runs_stage1 and 2 in history.stages()):
            return
        for plot in (self.loss_plot, self.miou_plot):
            line = pg.InfiniteLine(history.offset(2), angle=90, pen=pg.mkPen("#999", style=Qt.PenStyle.DashLine),
                                   label="stage 2", labelOpts={"position": 0.97, "color": "#555",
                                                               "anchors": [(0, 0), (0, 0)]})
            plot.addItem(line)
            self._boundaries.append((plot, line))

    def _loss_item(self, kind: str, stage: int) -> pg.PlotDataItem:
        key = (kind, stage)
        if key not in self.loss_items:
            colour = pg.mkColor(STAGE_COLOURS[stage])
            if kind == "raw":
                faint = pg.mkColor(colour)
                faint.setAlpha(70)
                item = pg.PlotDataItem(pen=pg.mkPen(faint, width=1))
            elif kind == "smooth":
                item = pg.PlotDataItem(pen=pg.mkPen(colour, width=2))
            else:       # epoch means (runs written before step losses were kept): a line, as steps are
                item = pg.PlotDataItem(pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=6, symbolBrush=colour,
                                       symbolPen="w")
            item.setClipToView(True)
            item.setDownsampling(auto=True, method="peak")
            self._loss_box(stage).addItem(item)
            self.loss_items[key] = item
        return self.loss_items[key]

    def _draw_loss(self, stage: int) -> None:
        history = self.history
        xs, ys = history.loss_curve(stage)
        if xs:
            self._loss_item("raw", stage).setData(xs, ys)
            self._loss_item("smooth", stage).setData(*history.smoothed_loss(stage))
        exs, eys = history.epoch_loss_curve(stage)
        if exs:
            self._loss_item("epoch", stage).setData(exs, eys)

    def _colour(self, exit_id: str) -> str:
        if exit_id == FINAL_EXIT:
            return FINAL_COLOUR
        return exit_colour([e for e in self.history.exits if e != FINAL_EXIT].index(exit_id))

    def _draw_val(self, stage: int, exit_id: str) -> None:
        xs, ys = self.history.val_curve(stage, exit_id)
        if not xs:
            return
        key = (stage, exit_id)
        if key not in self.val_items:
            colour = self._colour(exit_id)
            style = Qt.PenStyle.DashLine if stage == 1 else Qt.PenStyle.SolidLine   # stage-1 heads are dropped
            width = 3 if exit_id == FINAL_EXIT else 1.5
            item = self.miou_plot.plot(pen=pg.mkPen(colour, width=width, style=style), symbol="o", symbolSize=5,
                                       symbolBrush=colour, symbolPen=None)
            self.val_items[key] = item
            entry = self._legend_entry(exit_id)
            item.setVisible(entry.checkState() == Qt.CheckState.Checked)
        self.val_items[key].setData(xs, ys)

    def _legend_entry(self, exit_id: str) -> QListWidgetItem:
        found = self.legend.findItems(exit_id, Qt.MatchFlag.MatchExactly)
        if found:
            return found[0]
        entry = QListWidgetItem(_swatch(self._colour(exit_id)), exit_id)
        entry.setFlags(entry.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        entry.setCheckState(Qt.CheckState.Checked)
        entry.setToolTip(f"{exit_id}: show or hide its line")
        self.legend.blockSignals(True)
        final = self.legend.findItems(FINAL_EXIT, Qt.MatchFlag.MatchExactly)
        if final and exit_id != FINAL_EXIT:           # the final exit stays last
            self.legend.insertItem(self.legend.row(final[0]), entry)
        else:
            self.legend.addItem(entry)
        self.legend.blockSignals(False)
        return entry

    def _legend_toggled(self, entry: QListWidgetItem) -> None:
        visible = entry.checkState() == Qt.CheckState.Checked
        for (_, exit_id), item in self.val_items.items():
            if exit_id == entry.text():
                item.setVisible(visible)

    # --- for the page and tests -------------------------------------------------------
    def loss_point_count(self) -> int:
        """Points drawn on the loss plot (raw steps and earlier epoch means)."""
        return sum(len(item.xData) for (kind, _), item in self.loss_items.items()
                   if kind in ("raw", "epoch") and item.xData is not None)

    def val_point_count(self) -> int:
        """Points drawn on the mIoU plot, all exits and stages."""
        return sum(len(item.xData) for item in self.val_items.values() if item.xData is not None)

    def legend_exits(self) -> list[str]:
        """The exits listed beside the mIoU plot, in order."""
        return [self.legend.item(i).text() for i in range(self.legend.count())]

"""The backbone as a diagram: segments in order, candidate exit points with their heads, the final exit.

Drawn with QPainter from a core.profile.breakdown.Breakdown. The exits kept by the current
configuration are highlighted; segments a truncated configuration never runs are faded.
Each head shows its own cost, what a miss costs there (head + exit policy, and the policy's
share) and the cost of answering there. Hovering a block shows its numbers in a tool tip.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from core.models.spec import FINAL_EXIT
from core.profile.breakdown import Breakdown, HeadCost, final_lines, gf_text, head_lines, head_tip, ms_text
from core.runtime.config import ExitConfig

MARGIN = 16
HEADER_H = 64
SEG_W = 150                 # segment boxes, one row each, top to bottom
ROW_H, ROW_GAP = 70, 10
BRANCH = 112                # from a segment to the heads of the exit point after it
HEAD_W, HEAD_GAP = 176, 8   # heads side by side to the right
LEGEND_H = 34

BACKGROUND = QColor("#fbfbfc")
TEXT = QColor("#1d2330")
MUTED = QColor("#6b7280")
SEGMENT_FILL = QColor("#e3ecf7")
SEGMENT_EDGE = QColor("#5b7db1")
HEAD_FILL = QColor("#ffffff")
HEAD_EDGE = QColor("#a3acb9")
KEPT_FILL = QColor("#ffe6c7")
KEPT_EDGE = QColor("#e07b00")
FINAL_FILL = QColor("#dcefdc")
FINAL_EDGE = QColor("#3d8b40")
BAR = QColor("#5b7db1")
FADED = 0.35
LEFT = Qt.AlignmentFlag.AlignLeft
TOP_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop
TOP_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop


@dataclass
class _Hit:
    rect: QRectF
    tip: str
    lines: tuple[str, ...] = ()     # the text painted in the block


class SegmentDiagram(QWidget):
    """Paints a Breakdown; ``set_breakdown`` and ``set_config`` update it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.breakdown: Breakdown | None = None
        self.config: ExitConfig | None = None
        self.message = "No model open."
        self._hits: list[_Hit] = []
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip("")

    # --- data -----------------------------------------------------------------------------
    def set_breakdown(self, breakdown: Breakdown | None, message: str = "") -> None:
        self.breakdown = breakdown
        self.message = message
        self.updateGeometry()
        self.setMinimumSize(self.sizeHint())
        self.update()

    def set_config(self, config: ExitConfig | None) -> None:
        self.config = config
        self.update()

    def kept_exits(self) -> list[str]:
        """The exits that answer under the current configuration (the final alone for none)."""
        return [FINAL_EXIT] if self.config is None else list(self.config.exits)

    # --- geometry ---------------------------------------------------------------------------
    def _row_y(self, row: int) -> float:
        return MARGIN + HEADER_H + row * (ROW_H + ROW_GAP)

    def _heads_x(self, column: int) -> float:
        return MARGIN + SEG_W + BRANCH + column * (HEAD_W + HEAD_GAP)

    def sizeHint(self) -> QSize:
        if self.breakdown is None:
            return QSize(400, 160)
        widest = max([len(p.heads) for p in self.breakdown.points] + [1])
        rows = len(self.breakdown.segments) + 1 + sum(max(len(self.breakdown.points_after(s.index)) - 1, 0)
                                                      for s in self.breakdown.segments)
        width = max(self._heads_x(widest) + MARGIN, 760)
        height = self._row_y(rows) + LEGEND_H + MARGIN
        return QSize(int(width), int(height))

    # --- painting -----------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), BACKGROUND)
        self._hits = []
        if self.breakdown is None:
            painter.setPen(MUTED)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.message or "No costs yet.")
            return
        self._paint(painter, self.breakdown)

    def _fonts(self) -> tuple[QFont, QFont, QFont]:
        base = QFont(self.font())
        base.setPointSizeF(max(8.5, base.pointSizeF() * 0.92))
        bold = QFont(base)
        bold.setBold(True)
        small = QFont(base)
        small.setPointSizeF(base.pointSizeF() * 0.9)
        return base, bold, small

    def _paint(self, p: QPainter, view: Breakdown) -> None:
        base, bold, small = self._fonts()
        kept = self.kept_exits()
        deepest = self._deepest_segment(view, kept)
        total_ms = view.total_latency_ms
        # Header: what the numbers are.
        p.setFont(bold)
        p.setPen(TEXT)
        h, w = view.input_size
        full = f"full network {gf_text(view.total_gflops)}" + (f", {ms_text(total_ms)}" if total_ms is not None else "")
        room = max(self.width() - 2 * MARGIN, 200)
        p.drawText(QPointF(MARGIN, MARGIN + 14), self._elide(f"Input {h}×{w} (H×W)  ·  {full}", bold, room))
        p.setFont(base)
        p.drawText(QPointF(MARGIN, MARGIN + 32), self._elide(f"kept exits: {self._kept_text(kept)}", base, room))
        p.setFont(small)
        p.setPen(MUTED)
        where = view.device_description or "unknown device"
        latency = f"latency measured on {where}" if view.has_latency else "FLOPs only (no latency measured)"
        p.drawText(QPointF(MARGIN, MARGIN + 50), self._elide(f"{latency}  ·  head = the head alone; miss = head + "
                                                             f"exit policy, paid by every image that goes on; exit = "
                                                             f"the network truncated there (prefix + head + output)",
                                                             small, room))
        spine_x = MARGIN + SEG_W / 2
        row = 0
        rows: list[tuple[object, int]] = []
        for seg in view.segments:
            rows.append((seg, row))
            row += max(len(view.points_after(seg.index)), 1)
        final_row = row
        p.setPen(QPen(SEGMENT_EDGE, 2))
        p.drawLine(QPointF(spine_x, self._row_y(0) + ROW_H / 2), QPointF(spine_x, self._row_y(final_row) + ROW_H / 2))
        for seg, r in rows:
            y = self._row_y(r)
            p.setOpacity(1.0 if seg.index <= deepest else FADED)
            rect = QRectF(MARGIN, y, SEG_W, ROW_H)
            self._box(p, rect, SEGMENT_FILL, edge=SEGMENT_EDGE, width=1.5)
            p.setPen(TEXT)
            p.setFont(bold)
            p.drawText(rect.adjusted(8, 5, -8, 0), TOP_LEFT,
                       self._elide(f"{seg.index + 1}. {seg.name}", bold, SEG_W - 16))
            p.setFont(base)
            p.drawText(rect.adjusted(8, 23, -8, 0), TOP_LEFT,
                       f"{gf_text(seg.gflops)} · {ms_text(seg.latency_ms)}")
            share = (seg.latency_ms / total_ms) if (total_ms and seg.latency_ms is not None) \
                else seg.gflops / max(view.total_gflops, 1e-12)
            p.fillRect(QRectF(MARGIN + 8, y + ROW_H - 10, (SEG_W - 16) * min(1.0, share), 4), BAR)
            self._hits.append(_Hit(rect, f"segment {seg.index + 1}: {seg.name}\n{seg.gflops:.3f} GFLOPs"
                                        + (f"\n{seg.latency_ms:.2f} ms (median)" if seg.latency_ms is not None else "")
                                        + f"\n{share * 100:.0f} % of the full network's "
                                        + ("latency" if total_ms else "FLOPs")))
            for k, point in enumerate(view.points_after(seg.index)):
                self._paint_point(p, point, r + k, kept=kept, base=base, bold=bold, small=small)
        p.setOpacity(1.0)
        self._paint_final(p, view.final, self._row_y(final_row), kept=FINAL_EXIT in kept, base=base, bold=bold)
        self._paint_legend(p, small, self._row_y(final_row + 1) + 4)

    def _paint_point(self, p, point, row, kept, base, bold, small) -> None:
        y = self._row_y(row) + ROW_H / 2
        start = QPointF(MARGIN + SEG_W, y)
        any_kept = any(h.exit_id in kept for h in point.heads)
        p.setPen(QPen(HEAD_EDGE, 1.6, Qt.PenStyle.SolidLine if point.heads else Qt.PenStyle.DashLine))
        end_x = self._heads_x(max(len(point.heads) - 1, 0)) if point.heads else MARGIN + SEG_W + BRANCH - 8
        p.drawLine(start, QPointF(end_x, y))
        kept_columns = [c for c, h in enumerate(point.heads) if h.exit_id in kept]
        if kept_columns:
            p.setPen(QPen(KEPT_EDGE, 2))
            p.drawLine(start, QPointF(self._heads_x(kept_columns[-1]), y))
        p.setPen(QPen(KEPT_EDGE if any_kept else SEGMENT_EDGE, 2))
        p.setBrush(QBrush(KEPT_EDGE if any_kept else BACKGROUND))
        p.drawEllipse(QPointF(MARGIN + SEG_W + 12, y), 5, 5)
        p.setFont(small)
        p.setPen(MUTED)
        p.drawText(QRectF(MARGIN + SEG_W + 22, y - 21, BRANCH - 24, 18), LEFT | Qt.AlignmentFlag.AlignBottom,
                   self._elide(point.name, small, BRANCH - 26))
        p.drawText(QRectF(MARGIN + SEG_W + 22, y + 3, BRANCH - 24, 18), TOP_LEFT,
                   f"/{point.stride} · {point.channels} ch" + ("" if point.heads else " · no heads"))
        for column, head in enumerate(point.heads):
            rect = QRectF(self._heads_x(column), self._row_y(row), HEAD_W, ROW_H)
            self._paint_head(p, rect, head, kept=head.exit_id in kept, base=base, bold=bold)

    def _paint_head(self, p: QPainter, rect: QRectF, head: HeadCost, kept: bool, base: QFont, bold: QFont) -> None:
        self._box(p, rect, KEPT_FILL if kept else HEAD_FILL, edge=KEPT_EDGE if kept else HEAD_EDGE,
                  width=2.5 if kept else 1.0)
        p.setPen(TEXT)
        p.setFont(bold)
        miou = f"{head.miou:.1f} %" if head.miou is not None else ""
        title_rect = rect.adjusted(7, 4, -7, 0)
        p.drawText(title_rect, TOP_RIGHT, miou)
        room = HEAD_W - 14 - QFontMetrics(bold).horizontalAdvance(miou) - 6
        p.drawText(title_rect, TOP_LEFT,
                   self._elide(("✓ " if kept else "") + head.head, bold, room))
        p.setFont(base)
        lines = head_lines(head)
        p.drawText(rect.adjusted(7, 21, -6, 0), TOP_LEFT, "\n".join(self._elide(t, base, HEAD_W - 13) for t in lines))
        self._hits.append(_Hit(rect, head_tip(head, kept), tuple(lines)))

    def _paint_final(self, p, final: HeadCost, y, kept, base, bold) -> None:
        rect = QRectF(MARGIN, y, SEG_W, ROW_H)
        self._box(p, rect, FINAL_FILL if kept else HEAD_FILL, edge=FINAL_EDGE if kept else HEAD_EDGE,
                  width=2.5 if kept else 1.2)
        p.setPen(TEXT)
        p.setFont(bold)
        miou = f"{final.miou:.1f} %" if final.miou is not None else ""
        title_rect = rect.adjusted(8, 4, -7, 0)
        p.drawText(title_rect, TOP_RIGHT, miou)
        p.drawText(title_rect, TOP_LEFT, ("✓ " if kept else "") + "final exit")
        p.setFont(base)
        lines = final_lines(final)
        p.drawText(rect.adjusted(8, 21, -6, 0), TOP_LEFT, "\n".join(self._elide(t, base, SEG_W - 14) for t in lines))
        self._hits.append(_Hit(rect, head_tip(final, kept), tuple(lines)))

    def _paint_legend(self, p: QPainter, small: QFont, y: float) -> None:
        x = MARGIN
        p.setFont(small)
        for fill, edge, text in ((SEGMENT_FILL, SEGMENT_EDGE, "backbone segment (bar: share of the cost)"),
                                 (HEAD_FILL, HEAD_EDGE, "candidate exit head"),
                                 (KEPT_FILL, KEPT_EDGE, "kept early exit"),
                                 (FINAL_FILL, FINAL_EDGE, "final exit")):
            self._box(p, QRectF(x, y, 16, 12), fill, edge=edge, width=1.2)
            p.setPen(TEXT)
            p.drawText(QPointF(x + 22, y + 11), text)
            x += 30 + QFontMetrics(small).horizontalAdvance(text) + 14
        p.setPen(MUTED)
        p.drawText(QPointF(x, y + 11), "% = validation mIoU")

    # --- helpers ------------------------------------------------------------------------------
    def _deepest_segment(self, view: Breakdown, kept: list[str]) -> int:
        """The last segment a configuration runs: the final exit's, or its deepest kept early exit's."""
        if FINAL_EXIT in kept:
            return len(view.segments) - 1
        segments = [p.segment for p in view.points for h in p.heads if h.exit_id in kept]
        return max(segments) if segments else len(view.segments) - 1

    def _kept_text(self, kept: list[str]) -> str:
        if self.config is None:
            return "none (the full network)"
        text = " › ".join(kept)
        if self.config.mode == "dynamic" and len(kept) > 1:
            text += f"  (th_pix {self.config.th_pix[0]:g}, th_img {self.config.th_img[0]:g})"
        return text

    @staticmethod
    def _box(p: QPainter, rect: QRectF, fill: QColor, edge: QColor, width: float) -> None:
        p.setPen(QPen(edge, width))
        p.setBrush(QBrush(fill))
        p.drawRoundedRect(rect, 6, 6)

    @staticmethod
    def _elide(text: str, font: QFont, width: float) -> str:
        return QFontMetrics(font).elidedText(text, Qt.TextElideMode.ElideRight, int(width))

    def tip_at(self, x: float, y: float) -> str:
        """The tool tip of the block under (x, y), '' if none."""
        for hit in reversed(self._hits):
            if hit.rect.contains(QPointF(x, y)):
                return hit.tip
        return ""

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            tip = self.tip_at(event.pos().x(), event.pos().y())
            if tip:
                QToolTip.showText(event.globalPos(), tip, self)
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().event(event)

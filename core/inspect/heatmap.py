"""A dataset inspection drawn as a picture: per-exit per-class IoU as a heat map, with mIoU and agreement.

Rows are the exits from shallow to deep (final last), columns the classes, then each exit's mIoU and
its pixel agreement with the final exit. A cell's colour is its value on a 0-100 % viridis scale
(grey where the class never appears nor is predicted); the value is written in the cell.
"""

from __future__ import annotations

import cv2
import numpy as np

from core.inspect.dataset import DatasetInspection

CELL_W, CELL_H = 84, 26
LABEL_W = 250
HEADER_H = 34
FONT = cv2.FONT_HERSHEY_SIMPLEX
SCALE = 0.42
BACKGROUND = (250, 250, 250)
MISSING = (200, 200, 200)


def value_colour(value: float) -> tuple[int, int, int]:
    """RGB of a 0-100 value on the viridis scale (grey for NaN)."""
    if value is None or np.isnan(value):
        return MISSING
    level = np.uint8(round(float(np.clip(value, 0.0, 100.0)) * 2.55))
    bgr = cv2.applyColorMap(np.array([[level]], np.uint8), cv2.COLORMAP_VIRIDIS)[0, 0]
    return int(bgr[2]), int(bgr[1]), int(bgr[0])


def fitted(text: str, width: int) -> str:
    """``text`` shortened (ending in "~") until it fits ``width`` pixels at the picture's font."""
    if cv2.getTextSize(text, FONT, SCALE, 1)[0][0] <= width:
        return text
    while len(text) > 1 and cv2.getTextSize(text + "~", FONT, SCALE, 1)[0][0] > width:
        text = text[:-1]
    return text + "~"


def _text(canvas: np.ndarray, text: str, x: int, y: int, colour=(20, 20, 20), width: int | None = None) -> None:
    cv2.putText(canvas, fitted(text, width - 6) if width else text, (x, y), FONT, SCALE, colour, 1, cv2.LINE_AA)


def render_heatmap(inspection: DatasetInspection) -> np.ndarray:
    """The heat map picture, HxWx3 uint8 RGB."""
    columns = [*inspection.classes, "mIoU", "agree"]
    rows = len(inspection.exits)
    canvas = np.full((HEADER_H + rows * CELL_H + 8, LABEL_W + len(columns) * CELL_W + 8, 3), BACKGROUND, np.uint8)
    for j, name in enumerate(columns):
        _text(canvas, name, LABEL_W + j * CELL_W + 4, y=HEADER_H - 10, width=CELL_W)
    for i, exit_id in enumerate(inspection.exits):
        top = HEADER_H + i * CELL_H
        _text(canvas, exit_id, 4, y=top + CELL_H - 8, width=LABEL_W)
        values = [*inspection.iou[i].tolist(), inspection.miou[exit_id], inspection.agreement[exit_id]]
        for j, value in enumerate(values):
            left = LABEL_W + j * CELL_W
            colour = value_colour(value)
            cv2.rectangle(canvas, (left + 1, top + 1), (left + CELL_W - 1, top + CELL_H - 1), colour, -1)
            dark = 0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2] < 128
            _text(canvas, "-" if np.isnan(value) else f"{value:.1f}", left + 8, y=top + CELL_H - 8,
                  colour=(255, 255, 255) if dark else (20, 20, 20))
    return canvas

"""Drawing a live result (numpy + OpenCV, RGB in and out): the segmentation overlay and the exit badge.

Used by ``mess run --out`` and by the GUI's Live page. ``render`` is the whole
picture (frame, class colours blended in, the exit border and badge);
``colorize``, ``blend``, ``annotate`` and ``exit_colour`` are its pieces.

The exit colour is a bold ramp from the shallowest exit to the final one
(green, yellow, orange, red), readable from the back of a room: an audience
sees at a glance how deep each frame had to go.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import cv2
import numpy as np

from core.data.classes import ClassSet
from core.models.spec import FINAL_EXIT

if TYPE_CHECKING:
    from core.runtime.live import FrameResult

RGB = tuple[int, int, int]

# The exit ramp: depth 0 (first segment) -> 1 (final exit).
EXIT_RAMP: tuple[tuple[float, RGB], ...] = (
    (0.0, (0, 200, 40)),  # green
    (0.45, (255, 215, 0)),  # yellow
    (0.75, (255, 130, 0)),  # orange
    (1.0, (230, 20, 20)),  # red
)
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def _palette_array(palette: ClassSet | Sequence[Sequence[int]] | np.ndarray) -> np.ndarray:
    colours = palette.palette if isinstance(palette, ClassSet) else palette
    return np.asarray(colours, dtype=np.uint8).reshape(-1, 3)


def colorize(labels: np.ndarray, palette: ClassSet | Sequence[Sequence[int]] | np.ndarray) -> np.ndarray:
    """HxW class indices -> HxWx3 uint8 RGB in the palette's colours; out-of-range labels are black."""
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"colorize expects an HxW label array, got shape {labels.shape}")
    colours = _palette_array(palette)
    n = len(colours)
    lut = np.zeros((max(256, n + 1), 3), np.uint8)  # past the palette: black
    lut[:n] = colours
    if labels.dtype == np.uint8:
        return lut[labels]
    return lut[np.where((labels >= 0) & (labels < n), labels, n).astype(np.intp)]


def blend(image: np.ndarray, colour: np.ndarray, opacity: float) -> np.ndarray:
    """``image`` with ``colour`` laid over it at ``opacity`` (0 = image only, 1 = colour only)."""
    if image.shape != colour.shape:
        raise ValueError(f"blend: image {image.shape} and colour {colour.shape} differ in shape")
    opacity = float(np.clip(opacity, 0.0, 1.0))
    return cv2.addWeighted(colour, opacity, image, 1.0 - opacity, 0.0)


def exit_colour(depth: float) -> RGB:
    """The exit ramp's colour at ``depth`` (0 shallow .. 1 final): green, yellow, orange, red."""
    depth = float(np.clip(depth, 0.0, 1.0))
    for (d0, c0), (d1, c1) in zip(EXIT_RAMP, EXIT_RAMP[1:]):
        if depth <= d1:
            t = 0.0 if d1 == d0 else (depth - d0) / (d1 - d0)
            return tuple(int(round(a + t * (b - a))) for a, b in zip(c0, c1))  # type: ignore[return-value]
    return EXIT_RAMP[-1][1]


def short_exit_name(exit_id: str) -> str:
    """'features.12:fcn-c128-b2-rdi' -> 'features.12'; 'final' stays 'final'."""
    return exit_id if exit_id == FINAL_EXIT else exit_id.split(":", 1)[0]


def text_colour(background: RGB) -> RGB:
    """Black or white, whichever reads better on ``background``."""
    r, g, b = background
    return (0, 0, 0) if 0.299 * r + 0.587 * g + 0.114 * b > 140 else (255, 255, 255)


def badge_text(result: "FrameResult") -> str:
    return f"exit {short_exit_name(result.exit_id)}  {result.latency_ms:.0f} ms"


def draw_badge(image: np.ndarray, text: str, colour: RGB, corner: str = "top-left") -> np.ndarray:
    """Draw a filled badge with ``text`` in place (RGB uint8); sized from the image width."""
    h, w = image.shape[:2]
    scale = max(0.45, w / 480.0 * 0.8)
    thickness = max(1, int(round(scale * 2.2)))
    (tw, th), baseline = cv2.getTextSize(text, _FONT, scale, thickness)
    if tw > w * 0.92:  # long exit names: shrink to fit
        scale *= w * 0.92 / tw
        thickness = max(1, int(round(scale * 2.2)))
        (tw, th), baseline = cv2.getTextSize(text, _FONT, scale, thickness)
    pad = max(4, int(round(th * 0.45)))
    margin = max(6, w // 60 + 4)
    x0 = margin if corner.endswith("left") else w - margin - tw - 2 * pad
    y0 = margin if corner.startswith("top") else h - margin - th - baseline - 2 * pad
    cv2.rectangle(image, (x0, y0), (x0 + tw + 2 * pad, y0 + th + baseline + 2 * pad), colour, cv2.FILLED)
    cv2.putText(image, text, (x0 + pad, y0 + pad + th), _FONT, scale, text_colour(colour), thickness, cv2.LINE_AA)
    return image


def annotate(image: np.ndarray, result: "FrameResult", *, border: int | None = None,
             text: str | None = None) -> np.ndarray:
    """A copy of ``image`` with a thick border in the exit's colour and the badge 'exit <name>  <ms> ms'."""
    out = np.ascontiguousarray(image).copy()
    h, w = out.shape[:2]
    colour = exit_colour(result.exit_depth)
    t = max(1, min(border if border is not None else max(4, min(h, w) // 45), h // 2, w // 2))
    out[:t], out[-t:], out[:, :t], out[:, -t:] = colour, colour, colour, colour
    return draw_badge(out, badge_text(result) if text is None else text, colour)


def render(result: "FrameResult", palette: ClassSet | Sequence[Sequence[int]] | np.ndarray,
           opacity: float = 0.5, annotated: bool = True) -> np.ndarray:
    """The frame of a FrameResult with its segmentation blended in at ``opacity``, annotated."""
    picture = blend(result.image, colorize(result.labels, palette), opacity)
    return annotate(picture, result) if annotated else picture


def side_by_side(left: np.ndarray, right: np.ndarray, gap: int = 4) -> np.ndarray:
    """Two same-height RGB images next to each other, with a white gap."""
    if left.shape[0] != right.shape[0]:
        raise ValueError(f"side_by_side: heights differ ({left.shape[0]} and {right.shape[0]})")
    spacer = np.full((left.shape[0], gap, 3), 255, np.uint8)
    return np.concatenate([left, spacer, right], axis=1)


def legend(classes: ClassSet | tuple[Sequence[str], Sequence[Sequence[int]]]) -> list[tuple[str, RGB]]:
    """(class name, RGB colour) for each class, in index order: what a legend widget lists."""
    names, palette = (classes.names, classes.palette) if isinstance(classes, ClassSet) else classes
    if len(names) != len(palette):
        raise ValueError(f"legend: {len(names)} names but {len(palette)} colours")
    return [(str(n), tuple(int(v) for v in c)) for n, c in zip(names, palette)]  # type: ignore[misc]


def exit_legend(exit_depths: dict[str, float]) -> list[tuple[str, RGB]]:
    """(short exit name, ramp colour) for each exit, shallow to deep."""
    return [(short_exit_name(e), exit_colour(d)) for e, d in sorted(exit_depths.items(), key=lambda kv: kv[1])]

"""Drawing a live result (numpy + OpenCV, RGB in and out): the segmentation overlay and the exit badge.

Used by ``mess run --out`` and by the GUI's Live page. ``render`` is the whole
picture (frame, class colours blended in, the exit border and badge);
``colorize``, ``blend``, ``annotate`` and ``exit_colour`` are its pieces.

Overlay styles (``OVERLAY_STYLES``): "plain" blends the class colours at the opacity;
"outline" also draws every class boundary at full opacity, in the class colour lifted
to a readable brightness (CamVid's dark Car and Pedestrian colours vanish over a road at
50 %, their outlines do not); "high-contrast" blends a vivid palette instead (the class
colours at full saturation and brightness, greys pushed to black or white).

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


OVERLAY_STYLES = ("plain", "outline", "high-contrast")
MIN_OUTLINE_LUMA = 150.0          # an outline darker than this is lifted towards white


def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def check_style(style: str) -> str:
    if style not in OVERLAY_STYLES:
        raise ValueError(f"overlay style must be one of {', '.join(OVERLAY_STYLES)}, got {style!r}")
    return style


def high_contrast_palette(palette: ClassSet | Sequence[Sequence[int]] | np.ndarray) -> np.ndarray:
    """Each class colour made vivid: full saturation and brightness for a coloured class, black or white
    for a grey one (by its brightness), so that no class is dark over a dark road."""
    colours = _palette_array(palette).astype(np.float32) / 255.0
    out = np.empty_like(colours)
    for i, (r, g, b) in enumerate(colours):
        high, low = max(r, g, b), min(r, g, b)
        if high - low < 0.12:                                  # a grey: to the nearer extreme
            out[i] = 1.0 if high >= 0.45 else 0.0
        else:
            out[i] = (colours[i] - low) / (high - low)         # hue kept, saturation and value 1
    return np.round(out * 255).astype(np.uint8)


def outline_palette(palette: ClassSet | Sequence[Sequence[int]] | np.ndarray) -> np.ndarray:
    """The colour each class's boundary is drawn in: its own colour, mixed with white until at least
    MIN_OUTLINE_LUMA bright (a dark class stays visible on a dark road)."""
    colours = _palette_array(palette).astype(np.float32)
    luma = _luma(colours)
    mix = np.clip((MIN_OUTLINE_LUMA - luma) / np.maximum(255.0 - luma, 1e-6), 0.0, 1.0)[:, None]
    return np.round(colours + mix * (255.0 - colours)).astype(np.uint8)


def boundaries(labels: np.ndarray, thickness: int = 1) -> np.ndarray:
    """HxW bool: the pixels next to a pixel of another class (4-neighbourhood), grown to ``thickness``."""
    labels = np.asarray(labels)
    edge = np.zeros(labels.shape, bool)
    horizontal = labels[:, 1:] != labels[:, :-1]
    vertical = labels[1:, :] != labels[:-1, :]
    edge[:, 1:] |= horizontal
    edge[:, :-1] |= horizontal
    edge[1:, :] |= vertical
    edge[:-1, :] |= vertical
    if thickness > 1:
        kernel = np.ones((thickness, thickness), np.uint8)
        edge = cv2.dilate(edge.astype(np.uint8), kernel).astype(bool)
    return edge


def outline_width(shape_hw: tuple[int, int]) -> int:
    """Boundary lines about 0.4 % of the picture's shorter side (at least 1 px)."""
    return max(1, min(shape_hw) // 250)


def fill_palette(palette: ClassSet | Sequence[Sequence[int]] | np.ndarray, style: str = "plain") -> np.ndarray:
    """The colours the classes are filled with in ``style`` (what a legend shows)."""
    return high_contrast_palette(palette) if check_style(style) == "high-contrast" else _palette_array(palette)


def style_overlay(image: np.ndarray, labels: np.ndarray, palette: ClassSet | Sequence[Sequence[int]] | np.ndarray,
                  opacity: float, style: str = "plain") -> np.ndarray:
    """``image`` with the classes of ``labels`` (same HxW) laid over it in ``style`` (see OVERLAY_STYLES)."""
    colours = fill_palette(palette, style)
    out = blend(image, colorize(labels, colours), opacity)
    if style == "outline":
        edge = boundaries(labels, outline_width(labels.shape[:2]))
        out[edge] = colorize(labels, outline_palette(colours))[edge]
    return out


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
           opacity: float = 0.5, annotated: bool = True, style: str = "plain") -> np.ndarray:
    """The frame of a FrameResult with its segmentation laid over at ``opacity`` in ``style``, annotated."""
    picture = style_overlay(result.image, result.labels, palette, opacity=opacity, style=style)
    return annotate(picture, result) if annotated else picture


def side_by_side(left: np.ndarray, right: np.ndarray, gap: int = 4) -> np.ndarray:
    """Two same-height RGB images next to each other, with a white gap."""
    if left.shape[0] != right.shape[0]:
        raise ValueError(f"side_by_side: heights differ ({left.shape[0]} and {right.shape[0]})")
    spacer = np.full((left.shape[0], gap, 3), 255, np.uint8)
    return np.concatenate([left, spacer, right], axis=1)


def stacked(top: np.ndarray, bottom: np.ndarray, gap: int = 4) -> np.ndarray:
    """Two same-width RGB images one above the other, with a white gap."""
    if top.shape[1] != bottom.shape[1]:
        raise ValueError(f"stacked: widths differ ({top.shape[1]} and {bottom.shape[1]})")
    spacer = np.full((gap, top.shape[1], 3), 255, np.uint8)
    return np.concatenate([top, spacer, bottom], axis=0)


def legend(classes: ClassSet | tuple[Sequence[str], Sequence[Sequence[int]]]) -> list[tuple[str, RGB]]:
    """(class name, RGB colour) for each class, in index order: what a legend widget lists."""
    names, palette = (classes.names, classes.palette) if isinstance(classes, ClassSet) else classes
    if len(names) != len(palette):
        raise ValueError(f"legend: {len(names)} names but {len(palette)} colours")
    return [(str(n), tuple(int(v) for v in c)) for n, c in zip(names, palette)]  # type: ignore[misc]


def exit_legend(exit_depths: dict[str, float]) -> list[tuple[str, RGB]]:
    """(short exit name, ramp colour) for each exit, shallow to deep."""
    return [(short_exit_name(e), exit_colour(d)) for e, d in sorted(exit_depths.items(), key=lambda kv: kv[1])]

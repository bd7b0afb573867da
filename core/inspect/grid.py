"""A FrameInspection drawn as one picture: a row per exit in depth order (numpy and OpenCV only).

Each row: the exit's labels over the frame, its pixel confidence, the edge-smoothed confidence the
policy thresholds (pixels under th_pix tinted red) and, with a label, its error map (wrong pixels
red, void black). A caption above the row names the exit, its image confidence against th_img and
whether the frame leaves there; the exit the frame leaves at has a thick border in the exit ramp's
colour.
"""

from __future__ import annotations

import cv2
import numpy as np

from core.data.classes import ClassSet
from core.inspect.frame import ExitView, FrameInspection
from core.runtime.video.overlay import blend, colorize, exit_colour, text_colour

TILE_WIDTH = 320
CAPTION = 30
GAP = 4
_FONT = cv2.FONT_HERSHEY_SIMPLEX
BELOW_THRESHOLD = np.array([220, 30, 30], np.float32)
WRONG = np.array([230, 20, 20], np.uint8)
COLUMNS = ("labels", "pixel confidence", "smoothed, < th_pix in red", "errors (red), void (black)")


def tile_size(image_hw: tuple[int, int]) -> tuple[int, int]:
    """(height, width) of one tile: the frame scaled to TILE_WIDTH wide."""
    h, w = image_hw
    return max(1, round(h * TILE_WIDTH / w)), TILE_WIDTH


def _fit(picture: np.ndarray, size: tuple[int, int], nearest: bool = False) -> np.ndarray:
    return cv2.resize(picture, (size[1], size[0]), interpolation=cv2.INTER_NEAREST if nearest else cv2.INTER_AREA)


def confidence_picture(confidence: np.ndarray) -> np.ndarray:
    """An 8-bit confidence map in the viridis colour map (RGB)."""
    return cv2.cvtColor(cv2.applyColorMap(confidence, cv2.COLORMAP_VIRIDIS), cv2.COLOR_BGR2RGB)


def thresholded_picture(smoothed: np.ndarray, th_pix: float) -> np.ndarray:
    """The smoothed map, its pixels under th_pix (as the policy rounds it) tinted red."""
    picture = confidence_picture(smoothed).astype(np.float32)
    below = smoothed < int(np.rint(th_pix * 255))
    picture[below] = 0.35 * picture[below] + 0.65 * BELOW_THRESHOLD
    return picture.astype(np.uint8)


def error_picture(labels: np.ndarray, label: np.ndarray, ignore_index: int, palette: ClassSet) -> np.ndarray:
    """Right pixels in their class colour (dimmed), wrong ones red, void black."""
    picture = (colorize(labels, palette).astype(np.uint16) * 2 // 5).astype(np.uint8)
    picture[labels != label] = WRONG
    picture[label == ignore_index] = 0
    return picture


def caption_text(view: ExitView) -> str:
    text = f"{view.exit_id} (/{view.stride})   image confidence {view.image_confidence:.2f}"
    if view.th_img is not None:
        verdict = ">=" if view.image_confidence >= view.th_img else "<"
        text += f" {verdict} th_img {view.th_img:.2f} (th_pix {view.th_pix:.2f})"
    else:
        text += f" at th_pix {view.th_pix:.2f}, not kept"
    if view.leaves:
        text += "   LEAVES HERE"
    if view.miou is not None:
        text += f"   mIoU {view.miou:.1f} %"
    return text + f"   agrees {view.agreement:.0f} % with final"


def _caption(width: int, text: str, colour: tuple[int, int, int]) -> np.ndarray:
    strip = np.full((CAPTION, width, 3), colour, np.uint8)
    scale = 0.5
    (tw, th), _ = cv2.getTextSize(text, _FONT, scale, 1)
    if tw > width - 12:
        scale *= (width - 12) / tw
        (tw, th), _ = cv2.getTextSize(text, _FONT, scale, 1)
    cv2.putText(strip, text, (6, (CAPTION + th) // 2), _FONT, scale, text_colour(colour), 1, cv2.LINE_AA)
    return strip


def _row(tiles: list[np.ndarray], width: int) -> np.ndarray:
    parts = []
    for tile in tiles:
        parts += [tile, np.full((tile.shape[0], GAP, 3), 255, np.uint8)]
    row = np.concatenate(parts[:-1], axis=1)
    if row.shape[1] < width:
        row = np.concatenate([row, np.full((row.shape[0], width - row.shape[1], 3), 255, np.uint8)], axis=1)
    return row


def _frame(picture: np.ndarray, colour: tuple[int, int, int], thickness: int) -> np.ndarray:
    out = picture.copy()
    t = thickness
    out[:t], out[-t:], out[:, :t], out[:, -t:] = colour, colour, colour, colour
    return out


def render_grid(inspection: FrameInspection, classes: ClassSet, opacity: float = 0.6) -> np.ndarray:
    """The whole inspection as one RGB uint8 picture (about 1.3 x 0.3 Mpixel per exit at 4 columns)."""
    return render_grid_rows(inspection, classes, opacity)[0]


def render_grid_rows(inspection: FrameInspection, classes: ClassSet,
                     opacity: float = 0.6) -> tuple[np.ndarray, dict[str, int]]:
    """The grid, and the top (in pixels) of each exit's caption in it."""
    size = tile_size(inspection.image.shape[:2])
    columns = len(COLUMNS) if inspection.label is not None else len(COLUMNS) - 1
    width = columns * size[1] + (columns - 1) * GAP
    frame = _fit(inspection.image, size)
    header = [frame]
    if inspection.label is not None:
        header.append(_fit(colorize(inspection.label, classes), size, nearest=True))
    dark = (40, 40, 40)
    rows = [_caption(width, f"the frame leaves at {inspection.leaves_at}; the configuration keeps "
                            f"{', '.join(inspection.config.exits)}", dark),
            _caption(width, "frame" + ("   |   label" if inspection.label is not None else ""), dark),
            _row(header, width),
            _caption(width, "each exit, shallow to deep:   " + "   |   ".join(COLUMNS[:columns]), dark)]
    depth = {v.exit_id: i / max(1, len(inspection.exits) - 1) for i, v in enumerate(inspection.exits)}
    tops: dict[str, int] = {}
    for view in inspection.exits:
        colour = exit_colour(depth[view.exit_id]) if view.kept else (200, 200, 200)
        labels = _fit(blend(inspection.image, colorize(view.labels, classes), opacity), size)
        tiles = [labels, _fit(confidence_picture(view.confidence), size, nearest=True),
                 _fit(thresholded_picture(view.smoothed, view.th_pix), size, nearest=True)]
        if inspection.label is not None:
            errors = error_picture(view.labels, inspection.label, inspection.ignore_index, palette=classes)
            tiles.append(_fit(errors, size, nearest=True))
        if view.leaves:
            tiles = [_frame(t, colour, 6) for t in tiles]
        rows.append(np.full((GAP * 2, width, 3), 255, np.uint8))
        tops[view.exit_id] = sum(r.shape[0] for r in rows)
        rows += [_caption(width, caption_text(view), colour), _row(tiles, width)]
    return np.concatenate(rows, axis=0), tops


def encode_picture(picture: np.ndarray, suffix: str) -> bytes:
    """An RGB picture encoded as ``suffix`` (.png or .jpg) for writing; a ConfigError when it cannot be."""
    from core.errors import ConfigError

    ok, encoded = cv2.imencode(suffix.lower(), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ConfigError(f"OpenCV cannot encode a {suffix} picture")
    return encoded.tobytes()

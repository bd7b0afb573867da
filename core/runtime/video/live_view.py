"""What the Live page shows, as plain numpy: the overlay picture at display size, and thresholds edits.

The GUI's Live page draws every frame with ``compose`` (on its worker thread) and
builds the configuration its threshold sliders ask for with ``with_thresholds``;
both are usable from Python without Qt:

    picture = compose(frame, result, net.spec.classes, opacity=0.5, box=(1280, 720))
    runner.set_config(with_thresholds(config, th_pix=0.8, th_img=0.6))

``compose`` blends the class colours onto the *source* frame (its own aspect and
resolution, not the model's processing size), scaled to fit ``box``, then draws the
exit border and badge at that size so they stay crisp; with a full-network result
(``LiveRunner.compare_full``) the full network's picture is put beside it, with its
own latency on its badge. The two pictures go side by side or one above the other,
whichever draws them larger in ``box`` (``pair_layout``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import cv2
import numpy as np

from core.data.classes import ClassSet
from core.models.spec import FINAL_EXIT
from core.runtime.config import ExitConfig
from core.runtime.live import FrameResult
from core.runtime.video.overlay import annotate, badge_text, short_exit_name, side_by_side, stacked, style_overlay

GAP = 6  # pixels between the two pictures of a side-by-side view
Palette = ClassSet | Sequence[Sequence[int]] | np.ndarray


def fit_size(shape_hw: tuple[int, int], box_wh: tuple[int, int]) -> tuple[int, int]:
    """(width, height) of the largest picture with the aspect of ``shape_hw`` inside ``box_wh`` (at least 1x1)."""
    h, w = shape_hw
    box_w, box_h = box_wh
    if h <= 0 or w <= 0:
        raise ValueError(f"fit_size: empty picture {shape_hw}")
    scale = min(box_w / w, box_h / h)
    return max(1, int(round(w * scale))), max(1, int(round(h * scale)))


def pair_layout(shape_hw: tuple[int, int], box_wh: tuple[int, int], gap: int = GAP) -> tuple[str, tuple[int, int]]:
    """How two pictures of ``shape_hw`` fit ``box_wh`` best: ("row" or "column", each picture's (width, height)).

    Side by side in a wide box, one above the other in a tall one: whichever gives the larger pictures."""
    box_w, box_h = box_wh
    row = fit_size(shape_hw, (max(1, (box_w - gap) // 2), max(1, box_h)))
    column = fit_size(shape_hw, (max(1, box_w), max(1, (box_h - gap) // 2)))
    return ("row", row) if row[0] * row[1] >= column[0] * column[1] else ("column", column)


def overlay_at(frame: np.ndarray, labels: np.ndarray, palette: Palette, opacity: float,
               size_wh: tuple[int, int], style: str = "plain") -> np.ndarray:
    """``frame`` (HxWx3 RGB, any size) resized to ``size_wh`` with ``labels`` (any size) laid over in ``style``.

    The frame is resized smoothly, the label map by nearest neighbour (class boundaries stay sharp)."""
    w, h = size_wh
    if frame.shape[:2] != (h, w):
        shrinking = w < frame.shape[1]
        frame = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    if labels.shape[:2] != (h, w):
        labels = cv2.resize(labels, (w, h), interpolation=cv2.INTER_NEAREST)
    return style_overlay(np.ascontiguousarray(frame), labels, palette, opacity=opacity, style=style)


def full_network_result(result: FrameResult) -> FrameResult | None:
    """The full network's side of a compare_full result, as a FrameResult of its own (None without one)."""
    if result.full_labels is None:
        return None
    return replace(result, labels=result.full_labels, exit_id=FINAL_EXIT, exit_index=0, exit_depth=1.0,
                   latency_ms=float(result.full_latency_ms or 0.0), full_labels=None, full_latency_ms=None)


def border_width(size_wh: tuple[int, int]) -> int:
    """A bold exit border: about 2.5 % of the picture's shorter side (at least 4 px)."""
    return max(4, min(size_wh) // 40)


def compose(frame: np.ndarray, result: FrameResult, palette: Palette, opacity: float = 0.5,
            box: tuple[int, int] | None = None, annotated: bool = True, style: str = "plain") -> np.ndarray:
    """The Live picture of one result: the overlay on ``frame`` in ``style``, annotated, with the full network
    beside it (or below, in a tall box) when ``result`` carries one; the whole fits ``box`` (width, height),
    or is at the frame's own size."""
    pictures = [(result, badge_text(result))]
    full = full_network_result(result)
    if full is not None:
        pictures.append((full, f"full network  {full.latency_ms:.0f} ms"))
    fh, fw = frame.shape[:2]
    layout, size = "row", (fw, fh)
    if box is not None and len(pictures) == 2:
        layout, size = pair_layout((fh, fw), box)
    elif box is not None:
        size = fit_size((fh, fw), (max(1, box[0]), max(1, box[1])))
    drawn = []
    for item, text in pictures:
        picture = overlay_at(frame, item.labels, palette, opacity=opacity, size_wh=size, style=style)
        drawn.append(annotate(picture, item, border=border_width(size), text=text) if annotated else picture)
    if len(drawn) == 1:
        return drawn[0]
    return (side_by_side if layout == "row" else stacked)(drawn[0], drawn[1], gap=GAP)


def exit_depths(net) -> dict[str, float]:
    """How deep each exit of a MultiExitNet is, (segment + 1) / segments: the final exit is 1.0.

    The same numbers as LiveRunner.exit_depths, without making a runner (no torch call)."""
    last = len(net.segments)
    return {e: (net.exit_segment(e) + 1) / last for e in net.exit_ids()}


def describe_exits(config: ExitConfig | None) -> str:
    """'features.3 › features.12 › final (dynamic)', or 'full network' for None."""
    if config is None:
        return "full network"
    return " › ".join(short_exit_name(e) for e in config.exits) + f"  ({config.mode})"


def with_thresholds(config: ExitConfig, th_pix: float, th_img: float) -> ExitConfig:
    """A copy of ``config`` with every kept exit's th_pix and th_img set to these values (each in 0..1).

    A static configuration (one exit answers everything) has no threshold to set: it comes back unchanged."""
    if config.mode == "static":
        return config
    n = len(config.exits)
    return replace(config, exits=list(config.exits), th_pix=[float(th_pix)] * n, th_img=[float(th_img)] * n)


def uniform_thresholds(config: ExitConfig | None) -> tuple[float, float] | None:
    """The (th_pix, th_img) the sliders show for ``config``: those of its first exit; None when it has none."""
    if config is None or config.mode == "static" or len(config.exits) < 2:
        return None
    return float(config.th_pix[0]), float(config.th_img[0])

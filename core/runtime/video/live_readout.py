"""The Live page's per-frame readouts as text, without Qt: exit, latency, FPS, confidence, dropped, frame.

``frame_readouts`` turns one shown frame (a core.runtime.video.player.PlayerFrame, or the Live worker's
LiveFrame: the same fields) into the tiles' values and details. FRAME and DROPPED count the same
thing: this pass through the source (a looped file or folder starts both again at its start); the
details say which pass and how many were dropped in all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.runtime.video.exit_words import basis_note, exit_words
from core.runtime.video.overlay import RGB, exit_colour, short_exit_name

TOOLTIPS = {
    "exit": "The exit this frame left at: which of the configuration's exits, and what share of the full "
            "network's cost it paid (green: shallow, red: the final exit)",
    "latency": "Time for this frame: resize, preprocess, the network up to its exit, labels. Side by side: the full "
               "network's time too, and the speed-up measured on the same latest 30 frames",
    "fps": "Frames processed per second, over the last 2 seconds",
    "confidence": "Image confidence at the exit taken: the share of pixels at least th_pix confident",
    "dropped": "Frames skipped in this pass through the source because the model was slower than the video; "
               "like FRAME, it starts again when a looped file or folder starts again (the detail: in all)",
    "frame": "The frame's number in this pass through the source (of its length, for a file or folder); "
             "a looped file or folder starts again at 1 (the detail: which pass)",
}


@dataclass(frozen=True)
class Readouts:
    """The tiles' texts for one frame: ``values[key]`` and ``details[key]``; the exit tile's colour."""

    values: dict[str, str]
    details: dict[str, str]
    exit_colour: RGB
    exit_tooltip: str


def frame_readouts(frame, *, paused: bool = False) -> Readouts:
    """The readouts of ``frame`` (result, exits, fps, frame_count, loop_pass, dropped_in_pass, dropped_total,
    share); ``paused``: FPS reads 'paused' (the rolling rate of a paused loop means nothing)."""
    r = frame.result
    full = r.full_latency_ms
    speedup = getattr(frame, "measured_speedup", None)
    values = {
        "exit": short_exit_name(r.exit_id),
        "latency": f"{r.latency_ms:.0f} ms",
        "fps": "paused" if paused else f"{frame.fps:.1f}",
        "confidence": f"{r.confidence * 100:.0f} %",
        "dropped": f"{frame.dropped_in_pass}",
        "frame": f"{r.index + 1}",
    }
    loop_pass = getattr(frame, "loop_pass", 1)
    length = f"of {frame.frame_count}" if frame.frame_count else ""
    details = {
        "exit": ("refining: " if getattr(frame, "refining", False) else "")
        + exit_words(r.exit_index, len(frame.exits), frame.share),
        "latency": (f"full network {full:.0f} ms" + (f" · x{speedup:.2f} measured" if speedup else ""))
        if full is not None and math.isfinite(full) else "",
        "fps": "",
        "confidence": "",
        "dropped": f"{frame.dropped_total} in all" if loop_pass > 1 else "",
        "frame": ", ".join(p for p in (length, f"pass {loop_pass}" if loop_pass > 1 else "") if p),
    }
    tooltip = f"{TOOLTIPS['exit']}\n{r.exit_id}\n{basis_note(frame.share)}"
    return Readouts(values, details, exit_colour(r.exit_depth), exit_tooltip=tooltip)

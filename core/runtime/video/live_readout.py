"""The Live page's per-frame readouts as text, without Qt: exit, latency, FPS, confidence, dropped, frame.

``frame_readouts`` turns one shown frame (a core.runtime.video.player.PlayerFrame, or the Live worker's
LiveFrame: the same fields) into the tiles' values and details. FRAME and DROPPED count the same
thing: this pass through the source (a looped file or folder starts both again at its start); the
details say which pass and how many were dropped in all. In deadline mode (the frame carries a
core.runtime.video.deadline_tally.DeadlineTally) the latency's detail sets the frame against the
deadline and counts the overruns, and the exit's detail adds the mean exit depth; no exit policy runs
under a deadline, so the confidence reads '–'.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.runtime.video.deadline_tally import DeadlineTally
from core.runtime.video.exit_words import basis_note, exit_words
from core.runtime.video.overlay import RGB, exit_colour, short_exit_name

TOOLTIPS = {
    "exit": "The exit this frame left at: which of the configuration's exits, and what share of the full "
            "network's cost it paid (green: shallow, red: the final exit)",
    "latency": "Time for this frame: resize, preprocess, the network up to its exit, labels. Side by side: the full "
               "network's time too, and the speed-up measured on the same latest 30 frames. Deadline: the frame "
               "against the deadline, and how many frames overran it since it was set (or the counts reset)",
    "fps": "Frames processed per second, over the last 2 seconds",
    "confidence": "Image confidence at the exit taken: the share of pixels at least th_pix confident",
    "dropped": "Frames skipped in this pass through the source because the model was slower than the video; "
               "like FRAME, it starts again when a looped file or folder starts again (the detail: in all)",
    "frame": "The frame's number in this pass through the source (of its length, for a file or folder); "
             "a looped file or folder starts again at 1 (the detail: which pass)",
}


DEADLINE_NOTE = ("Deadline {ms:g} ms: each frame answers at the deepest kept exit that can finish in time, decided "
                 "before each step from the latency table of this backend (the first kept exit always answers); "
                 "mean exit depth: where its frames left on average (1.00: the final exit)")


def deadline_latency_words(tally: DeadlineTally, latency_ms: float) -> str:
    """'21.2 ms of the 25 ms deadline · 3 of 120 frames over', or for a frame that overran it 'past the 25 ms
    deadline by 6.2 ms · ...' (the frame's latency against the deadline, and the overruns so far)."""
    words = f"{latency_ms:.1f} ms of the {tally.deadline_ms:g} ms deadline"
    if latency_ms > tally.deadline_ms:
        words = f"past the {tally.deadline_ms:g} ms deadline by {latency_ms - tally.deadline_ms:.1f} ms"
    if tally.frames:
        words += f" · {tally.overruns} of {tally.frames} frame{'s' * (tally.frames != 1)} over"
    return words


def deadline_depth_words(tally: DeadlineTally) -> str:
    """'mean exit depth 0.62' over the deadline's frames so far ('' before the first)."""
    depth = tally.mean_depth
    return "" if depth is None else f"mean exit depth {depth:.2f}"


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
    tally: DeadlineTally | None = getattr(frame, "deadline", None)
    exit_detail = ("refining: " if getattr(frame, "refining", False) else "") + \
        exit_words(r.exit_index, len(frame.exits), frame.share)
    latency_detail = (f"full network {full:.0f} ms" + (f" · x{speedup:.2f} measured" if speedup else "")) \
        if full is not None and math.isfinite(full) else ""
    confidence_detail = ""
    if tally is not None:
        values["confidence"], confidence_detail = "–", "not computed: the time decides"
        exit_detail = " · ".join(p for p in (exit_detail, deadline_depth_words(tally)) if p)
        latency_detail = "\n".join(p for p in (deadline_latency_words(tally, r.latency_ms), latency_detail) if p)
    details = {
        "exit": exit_detail,
        "latency": latency_detail,
        "fps": "",
        "confidence": confidence_detail,
        "dropped": f"{frame.dropped_total} in all" if loop_pass > 1 else "",
        "frame": ", ".join(p for p in (length, f"pass {loop_pass}" if loop_pass > 1 else "") if p),
    }
    tooltip = f"{TOOLTIPS['exit']}\n{r.exit_id}\n{basis_note(frame.share)}"
    if tally is not None:
        tooltip += "\n" + DEADLINE_NOTE.format(ms=tally.deadline_ms)
    return Readouts(values, details, exit_colour(r.exit_depth), exit_tooltip=tooltip)

"""A text progress bar on stderr for jobs (a live bar on a terminal, sparse lines otherwise)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from core.jobs import Progress


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(seconds)
    return (f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600
            else f"{seconds // 60:02d}:{seconds % 60:02d}")


class ProgressBar:
    def __init__(self, stream: TextIO | None = None, width: int = 30, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.width = width
        self.quiet = quiet
        self.live = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last_line = 0.0
        self._stage = ""

    def __call__(self, event: Progress) -> None:
        if self.quiet:
            return
        filled = int(self.width * min(1.0, event.fraction))
        bar = "#" * filled + "." * (self.width - filled)
        line = (f"{event.stage:>8} [{bar}] {event.done}/{event.total} ETA {_clock(event.metrics.get('eta_s'))}  "
                f"{event.message}")
        now = time.monotonic()
        if self.live:
            self.stream.write("\r" + line[:118].ljust(118))
            if event.done >= event.total:
                self.stream.write("\n")
        elif event.stage != self._stage or event.done >= event.total or now - self._last_line > 10:
            self.stream.write(line + "\n")
            self._last_line = now
        self._stage = event.stage
        self.stream.flush()

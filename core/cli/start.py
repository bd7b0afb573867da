"""The `mess` command's first instant: what runs before the command line itself is imported.

A SIGTERM or Ctrl-C can arrive while Python is still importing the command line (a fraction of a
second, most of one on a loaded machine). Nothing has been written yet, so it ends the command at
once, quietly, with the line and the exit code a later one gets (143, 130), instead of a traceback
(Ctrl-C) or a death by signal (SIGTERM's default). ``core.cli.main.main`` then installs its own handling.
"""

from __future__ import annotations

import signal
import sys
from contextlib import contextmanager
from typing import Iterator


def _stop_before_start(signum: int, frame) -> None:
    terminated = signum == signal.SIGTERM
    print("mess: terminated" if terminated else "mess: interrupted", file=sys.stderr)
    raise SystemExit(143 if terminated else 130)


@contextmanager
def stopping_quietly() -> Iterator[None]:
    """SIGTERM and (unless the process ignores it) SIGINT end the process quietly inside the block.
    SIGINT gets Python's handler back after it; SIGTERM keeps this one until main() sets its own."""
    interrupt = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGTERM, _stop_before_start)
    if interrupt is signal.default_int_handler:
        signal.signal(signal.SIGINT, _stop_before_start)
    try:
        yield
    finally:
        if interrupt is signal.default_int_handler:
            signal.signal(signal.SIGINT, interrupt)


def run() -> int:
    """The `mess` command (its console script, and ``python -m core.cli``)."""
    with stopping_quietly():
        from core.cli.main import main
    return main()

"""OpenCV's own log lines off for a block.

OpenCV writes its warnings straight to the process's stderr (file descriptor 2), past Python: a
capture that times out prints "Stream timeout triggered", a video writer on a full disk prints
"Failed to write frame" once per frame. Where our code reports the failure itself in one line,
those lines are noise. OpenCV's log level is one for the process: the first of overlapping users
(threads) turns it off, the last one restores it.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

import cv2

_LOCK = threading.Lock()
_state: dict[str, int] = {"depth": 0, "previous": 0}


@contextmanager
def quiet_opencv() -> Iterator[None]:
    """OpenCV's log silent inside the block (the caller says what failed)."""
    logging = cv2.utils.logging
    with _LOCK:
        if _state["depth"] == 0:
            _state["previous"] = logging.getLogLevel()
            logging.setLogLevel(logging.LOG_LEVEL_SILENT)
        _state["depth"] += 1
    try:
        yield
    finally:
        with _LOCK:
            _state["depth"] -= 1
            if _state["depth"] == 0:
                logging.setLogLevel(_state["previous"])

"""How far a deadline frame's real cost has run from the latency table's prediction, lately.

A deadline configuration decides from a latency table measured piece by piece, each piece timed on
its own. Chained in a live pipeline (a decoding thread beside it, caches cold after the previous
piece's work, a call's overhead per piece) the same pieces run slower, in proportion to how many run:
measured on highway.mp4 with OpenVINO, 12.6 ms for a predicted 10.0, 22.7 for 15.8. The runner records
each frame's ratio (measured / predicted) and scales the table's costs by the 90th percentile of the
last WINDOW frames' ratios, once MIN_FRAMES are known (1 before: the table as it is).
"""

from __future__ import annotations

from collections import deque

import numpy as np

WINDOW = 60
MIN_FRAMES = 5
QUANTILE = 0.9
SCALE_RANGE = (0.5, 5.0)      # a table measured under load may overestimate: frames then go deeper


class DeadlineScale:
    """The factor a deadline decision applies to the latency table's costs, learnt from the frames run so far."""

    def __init__(self, window: int = WINDOW) -> None:
        self._ratios: deque[float] = deque(maxlen=window)

    def record(self, *, predicted_ms: float, measured_ms: float) -> None:
        if predicted_ms > 0:
            self._ratios.append(measured_ms / predicted_ms)

    def factor(self) -> float:
        if len(self._ratios) < MIN_FRAMES:
            return 1.0
        low, high = SCALE_RANGE
        return min(high, max(low, float(np.quantile(np.asarray(self._ratios), QUANTILE))))

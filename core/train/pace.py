"""How long a training stage has left, and the step losses an epoch keeps in metrics.jsonl.

``StagePace`` times this session's steps only: the first step of every epoch (it carries the
loader's start-up, the first batch's allocation and warm-up) and the time between epochs
(checkpoint, validation) are left out of the step time, so the first estimate is not inflated
by start-up and a resumed run's earlier epochs count for nothing. Validation time per epoch is
measured apart and added for the validations still to come. Until ``MIN_TIMED_STEPS`` steps are
timed there is no estimate (None: the views say "estimating...").
"""

from __future__ import annotations

import math
import time
from typing import Callable

MIN_TIMED_STEPS = 3
# metrics.jsonl keeps at most this many loss points per epoch (means of consecutive steps beyond).
MAX_LOSS_POINTS = 1000


class StagePace:
    """Seconds left in a stage from the measured time of its steps (and of its validations)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, min_steps: int = MIN_TIMED_STEPS) -> None:
        self._clock = clock
        self._min_steps = min_steps
        self._last: float | None = None       # when the previous step of this epoch ended
        self._step_seconds = 0.0
        self._timed_steps = 0
        self._validation_seconds: list[float] = []

    def epoch_started(self) -> None:
        """A new epoch: its first step is not timed (loader start-up)."""
        self._last = None

    def step_done(self) -> None:
        now = self._clock()
        if self._last is not None:
            self._step_seconds += now - self._last
            self._timed_steps += 1
        self._last = now

    def validated(self, seconds: float) -> None:
        self._validation_seconds.append(seconds)

    @property
    def seconds_per_step(self) -> float | None:
        if self._timed_steps < self._min_steps:
            return None
        return self._step_seconds / self._timed_steps

    def seconds_left(self, steps_left: int, validations_left: int = 0) -> float | None:
        """Steps still to run at the measured pace, plus the validations still to come at the measured
        time of one (none counted before one was measured); None while too few steps are timed."""
        per_step = self.seconds_per_step
        if per_step is None:
            return None
        validation = (sum(self._validation_seconds) / len(self._validation_seconds)
                      if self._validation_seconds else 0.0)
        return max(0, steps_left) * per_step + max(0, validations_left) * validation


def loss_points(losses: list[float], limit: int = MAX_LOSS_POINTS) -> tuple[list[float], int]:
    """(points, steps per point) of an epoch's step losses: every step, or means of consecutive
    steps when there are more than ``limit`` (the last point may cover fewer)."""
    every = max(1, math.ceil(len(losses) / limit))
    points = [sum(chunk) / len(chunk) for chunk in (losses[i:i + every] for i in range(0, len(losses), every))]
    return [float(f"{p:.6g}") for p in points], every

"""A small, Qt-free job abstraction.

A job is a generator: it yields ``Progress`` events and returns its result;
it checks a ``CancelToken`` between steps. The command line drives a job with
a progress bar, the GUI with a worker thread that turns events into signals,
and tests can run it synchronously with ``run_job``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Generator, TypeVar

from core.errors import MessError

R = TypeVar("R")


@dataclass
class Progress:
    """One progress report: where the job is, and any numbers it has."""

    stage: str
    done: int
    total: int
    message: str = ""
    metrics: dict = field(default_factory=dict)

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0


Job = Generator[Progress, None, R]


class Cancelled(MessError):
    """The job stopped because it was asked to."""


class CancelToken:
    """A thread-safe flag a job checks between steps."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled("cancelled")


class ETA:
    """Estimates the time left from the pace so far."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def seconds_left(self, done: int, total: int) -> float | None:
        if done <= 0 or total <= 0:
            return None
        elapsed = time.monotonic() - self.start
        return elapsed * (total - done) / done


def run_job(job: Job[R], on_progress: Callable[[Progress], None] | None = None) -> R:
    """Drive a job to its end, handing each event to ``on_progress``; returns its result."""
    while True:
        try:
            event = next(job)
        except StopIteration as stop:
            return stop.value
        if on_progress is not None:
            on_progress(event)

"""Worker threads that run core jobs off the UI thread and report through Qt signals.

A job factory receives a CancelToken and returns either a core.jobs generator
(Progress events, then a result) or a plain result. Signals are emitted from the
worker thread and, being queued, arrive on the UI thread.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, QThread, Signal

from core.errors import MessError
from core.jobs import CancelToken, Cancelled, Progress

log = logging.getLogger(__name__)

JobFactory = Callable[[CancelToken], Any]


class _Runner(QThread):
    def __init__(self, worker: "JobWorker") -> None:
        super().__init__()
        self._worker = worker

    def run(self) -> None:
        self._worker._execute()


class JobWorker(QObject):
    """Runs one job on its own thread: progress, succeeded, failed, cancelled, then finished."""

    progress = Signal(object)     # core.jobs.Progress
    succeeded = Signal(object)    # the job's result
    failed = Signal(str)          # a one-line message
    cancelled = Signal()
    finished = Signal()           # after any of the three above

    def __init__(self, factory: JobFactory, name: str = "job", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.token = CancelToken()
        self._factory = factory
        self._thread = _Runner(self)
        self._thread.setObjectName(f"mess-{name}")
        self._active = False
        self.finished.connect(self._mark_done)      # connected first: runs before the owner's slots

    def start(self) -> None:
        self._active = True
        self._thread.start()

    def _mark_done(self) -> None:
        self._active = False

    def active(self) -> bool:
        """From start() until 'finished' has reached this object's thread (the UI thread).

        Owners that start a new job when the old one is done ask this, not is_running(): the
        thread may still be exiting after its results arrived, and a new job started before
        'finished' arrives would have its widgets reset by the old job's finished slot.
        """
        return self._active

    def cancel(self) -> None:
        self.token.cancel()

    def is_running(self) -> bool:
        return self._thread.isRunning()

    def wait(self, ms: int = 10_000) -> bool:
        return self._thread.wait(ms)

    def _execute(self) -> None:
        try:
            job = self._factory(self.token)
            if hasattr(job, "__next__") and hasattr(job, "send"):
                result = self._drive(job)
            else:
                result = job
        except Cancelled:
            self.cancelled.emit()
        except MessError as exc:
            self.failed.emit(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        except Exception as exc:  # a bug or an unexpected library error: report it, never crash the app
            log.error("%s failed:\n%s", self.name, traceback.format_exc())
            self.failed.emit(f"{type(exc).__name__}: {exc}".splitlines()[0])
        else:
            self.succeeded.emit(result)
        finally:
            self.finished.emit()

    def _drive(self, job) -> Any:
        while True:
            self.token.check()
            try:
                event = next(job)
            except StopIteration as stop:
                return stop.value
            if isinstance(event, Progress):
                self.progress.emit(event)


def start_job(factory: JobFactory, name: str, parent: QObject | None = None, *, progress=None, succeeded=None,
              failed=None, cancelled=None, finished=None) -> JobWorker:
    """Create, connect and start a JobWorker in one call."""
    worker = JobWorker(factory, name, parent)
    for signal, slot in ((worker.progress, progress), (worker.succeeded, succeeded), (worker.failed, failed),
                         (worker.cancelled, cancelled), (worker.finished, finished)):
        if slot is not None:
            signal.connect(slot)
    worker.start()
    return worker

"""JobWorker: results and errors arrive on the UI thread; active() lasts until 'finished' arrives."""

from __future__ import annotations

import threading

from app.workers import start_job
from core.errors import MessError
from core.jobs import Progress

TIMEOUT_MS = 10_000


def test_active_until_finished_reaches_the_ui_thread(qtbot):
    release = threading.Event()
    results: list = []
    worker = start_job(lambda token: release.wait(10) and 42, "blocked", succeeded=results.append)
    assert worker.active() and worker.is_running()
    release.set()
    assert worker.wait(TIMEOUT_MS)
    assert not worker.is_running()
    assert worker.active(), "the thread has ended, but its 'finished' has not been delivered yet"
    qtbot.waitUntil(lambda: not worker.active(), timeout=TIMEOUT_MS)
    assert results == [42]


def test_a_generator_job_reports_progress_and_can_be_cancelled(qtbot):
    started = threading.Event()

    def job(token):
        yield Progress("work", 1, 10, "first step")
        started.set()
        while True:
            yield Progress("work", 2, 10, "waiting")

    events: list[Progress] = []
    cancelled: list[bool] = []
    worker = start_job(job, "cancel-me", progress=events.append, cancelled=lambda: cancelled.append(True))
    assert started.wait(TIMEOUT_MS / 1000)
    with qtbot.waitSignal(worker.finished, timeout=TIMEOUT_MS):
        worker.cancel()
    qtbot.waitUntil(lambda: not worker.active(), timeout=TIMEOUT_MS)
    assert cancelled == [True]
    assert events and events[0].message == "first step"


def test_errors_arrive_as_one_line(qtbot):
    messages: list[str] = []

    def mess_error(token):
        raise MessError("data/x.png: not an image\nsecond line")

    def bug(token):
        raise ZeroDivisionError("division by zero")

    for factory in (mess_error, bug):
        worker = start_job(factory, "fails", failed=messages.append)
        qtbot.waitUntil(lambda: not worker.active(), timeout=TIMEOUT_MS)
    assert messages == ["data/x.png: not an image", "ZeroDivisionError: division by zero"]

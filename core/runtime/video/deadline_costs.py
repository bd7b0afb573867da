"""The latency table a deadline on the Live page decides from, measured on the player's thread.

A deadline configuration decides before each step from a latency table of the backend it runs on
(core.runtime.early_exit.deadline_step_costs). The Live page hands the player the table the Model page
measured (core.profile.cache.COST_CACHE); without one, ``measure_deadline_costs`` measures it at the
model's input size on the player's backend, keeps it in that cache when the weights' SHA-256 is known
(the Model page then shows it at once), and says how far it is while it measures. It is a generator of
progress lines (``event`` makes each one the caller's event: the player's Message) that returns the table: the
measurement runs
on a helper thread so that the lines come out while it runs, and it stops at the next piece when
``stop`` is set (the generator then returns None).
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Callable, Generator

from core.errors import ConfigError
from core.jobs import Cancelled
from core.profile.cache import COST_CACHE
from core.profile.costs import CostTable, measure_costs

POLL_S = 0.1


def measuring_line(backend: str, precision: str, size: tuple[int, int], done: int | None = None,
                   total: int | None = None) -> str:
    """'Measuring the latency table the deadline decides from (torch fp32, 360x480): 3/12 pieces...'."""
    where = f"{backend} {precision}, {size[0]}x{size[1]}"
    count = f": {done}/{total} pieces" if total else ""
    return f"Measuring the latency table the deadline decides from ({where}){count}..."


def _measurer(net, size: tuple[int, int], *, weights_sha256: str | None, backend: str,
              precision: str) -> Callable[[Callable[[int, int], None]], CostTable]:
    device = next(net.parameters()).device
    if weights_sha256:
        return lambda progress: COST_CACHE.measure(net, weights_sha256, size, device, progress=progress,
                                                   backend=backend, precision=precision)

    def measure(progress: Callable[[int, int], None]) -> CostTable:
        pieces = None
        if backend != "torch":
            from core.runtime.backends import make_pieces

            pieces = make_pieces(net, size, backend, precision=precision)
        return measure_costs(net, size, device, progress=progress, pieces=pieces)
    return measure


def measure_deadline_costs(net, *, weights_sha256: str | None, backend: str, precision: str,
                           stop: threading.Event,
                           event: Callable[[str], Any] = str) -> Generator[Any, None, CostTable | None]:
    """Progress lines while the table is measured; returns it (None when ``stop`` was set meanwhile).
    A model without a fixed input size is refused (ConfigError): the table must be of the frames' size."""
    if not net.spec.input_size:
        raise ConfigError(f"this {net.spec.backbone} model has no fixed input size: a deadline decides from a "
                          "latency table measured at the processing size")
    size = (int(net.spec.input_size[0]), int(net.spec.input_size[1]))
    measure = _measurer(net, size, weights_sha256=weights_sha256, backend=backend, precision=precision)
    steps: queue.Queue = queue.Queue()
    outcome: dict = {}

    def progress(done: int, total: int) -> None:
        if stop.is_set():
            raise Cancelled("stopped")
        steps.put((done, total))

    def work() -> None:
        try:
            outcome["table"] = measure(progress)
        except Exception as exc:      # handed to the player's thread, which raises it (or stops)
            outcome["error"] = exc

    yield event(measuring_line(backend, precision, size))
    helper = threading.Thread(target=work, name="mess-live-costs", daemon=True)
    helper.start()
    while helper.is_alive():
        helper.join(POLL_S)
        latest = None
        while not steps.empty():
            latest = steps.get()
        if latest is not None and helper.is_alive():
            yield event(measuring_line(backend, precision, size, *latest))
    error = outcome.get("error")
    if isinstance(error, Cancelled):
        return None
    if error is not None:
        raise error
    return outcome["table"]


__all__ = ["measure_deadline_costs", "measuring_line"]

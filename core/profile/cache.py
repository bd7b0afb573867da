"""Measured cost tables kept in memory, so one process measures a model on a device only once.

A table is valid for one set of weights, one list of exits and segments, one input
size and one device; that tuple is the key. Measuring takes seconds, so an
application that shows costs in several places (a diagram, a search) asks this
cache instead of calling ``measure_costs`` each time. Thread-safe: workers may
ask concurrently (a second request for the same key waits for the first).
"""

from __future__ import annotations

import threading
from typing import Callable

import torch

from core.models.network import MultiExitNet
from core.profile.costs import CostTable, measure_costs

CostKey = tuple[str, tuple[str, ...], int, tuple[int, int], str, str, str]


def cost_key(net: MultiExitNet, weights_sha256: str, input_size: tuple[int, int],
             device: torch.device | str, backend: str = "torch", precision: str = "fp32") -> CostKey:
    """What a measured table depends on: weights, exits, number of segments, input size, device,
    execution backend and precision."""
    return (weights_sha256, tuple(net.exit_ids()), len(net.segments), (int(input_size[0]), int(input_size[1])),
            str(torch.device(device)), backend, precision)


class CostCache:
    """CostTables by ``cost_key``; ``measure`` returns a cached table or measures (and keeps) a new one."""

    def __init__(self) -> None:
        self._tables: dict[CostKey, CostTable] = {}
        self._lock = threading.Lock()
        self._measuring: dict[CostKey, threading.Lock] = {}

    def get(self, key: CostKey) -> CostTable | None:
        with self._lock:
            return self._tables.get(key)

    def put(self, key: CostKey, table: CostTable) -> None:
        with self._lock:
            self._tables[key] = table

    def discard(self, key: CostKey) -> None:
        """Forget one table (the next ``measure`` of its key measures again)."""
        with self._lock:
            self._tables.pop(key, None)

    def forget(self, *, weights_sha256: str, precision: str, input_size: tuple[int, int]) -> int:
        """Forget every table of the weights ``weights_sha256`` at ``precision`` and ``input_size`` (a new
        int8 calibration of that model replaces the graphs they timed); returns how many."""
        size = (int(input_size[0]), int(input_size[1]))
        with self._lock:
            stale = [key for key in self._tables
                     if key[0] == weights_sha256 and key[6] == precision and key[3] == size]
            for key in stale:
                del self._tables[key]
        return len(stale)

    def clear(self) -> None:
        with self._lock:
            self._tables.clear()

    def measure(self, net: MultiExitNet, weights_sha256: str, input_size: tuple[int, int],
                device: torch.device | str = "cpu", progress: Callable[[int, int], None] | None = None,
                backend: str = "torch", precision: str = "fp32", **options) -> CostTable:
        """The table for this model, size, device, backend and precision: from memory, else measured
        now with ``measure_costs(..., **options)`` (FLOPs and latency) and kept. ``progress`` may
        raise (core.jobs.Cancelled) to stop a measurement; nothing is kept then."""
        key = cost_key(net, weights_sha256, input_size, device=device, backend=backend, precision=precision)
        with self._lock:
            table = self._tables.get(key)
            if table is not None:
                return table
            gate = self._measuring.setdefault(key, threading.Lock())
        with gate:
            table = self.get(key)
            if table is None:
                if backend != "torch":
                    from core.runtime.backends import make_pieces

                    options["pieces"] = make_pieces(net, key[3], backend, precision=precision)
                table = measure_costs(net, key[3], device, progress=progress, **options)
                table.weights_sha256 = weights_sha256
                self.put(key, table)
        return table


COST_CACHE = CostCache()
"""The process-wide cache the application's pages share."""

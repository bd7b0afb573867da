"""How busy the machine was while something was measured: the share of the CPU other processes used.

Read from /proc/stat (all CPUs' busy time) minus this process's own CPU time, over the
measurement; where /proc is not there, the 1-minute load average per core stands in.
A latency measured while other processes took a large share of the CPU is not the
machine's: tables record this so that the CLI and the app can flag them.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

BUSY_THRESHOLD = 0.25       # others used more than a quarter of the CPU: measured under load
SPREAD_THRESHOLD = 1.5      # p90 / p10 of the full network above this: a noisy measurement


def _proc_stat() -> tuple[float, float] | None:
    """(busy, total) seconds of all CPUs since boot, or None without /proc/stat."""
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = [float(v) for v in handle.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
    total = sum(fields[:8]) if len(fields) >= 8 else sum(fields)
    return (total - idle) / hz, total / hz


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


@dataclass
class LoadProbe:
    """Start before measuring, ``stop()`` after: the share of the machine's CPU other processes used."""

    started: float = 0.0
    stat: tuple[float, float] | None = None
    own: float = 0.0

    def __post_init__(self) -> None:
        self.started = time.perf_counter()
        self.stat = _proc_stat()
        self.own = _own_cpu()

    def stop(self) -> dict:
        cores = os.cpu_count() or 1
        after = _proc_stat()
        own = _own_cpu() - self.own
        if self.stat is not None and after is not None and after[1] > self.stat[1]:
            busy, total = after[0] - self.stat[0], after[1] - self.stat[1]
            others = max(0.0, min(1.0, (busy - own) / total))
            return {"others_cpu_fraction": round(others, 3), "cpu_count": cores, "source": "/proc/stat"}
        try:
            load = os.getloadavg()[0] / cores
        except (AttributeError, OSError):
            return {"cpu_count": cores, "source": "unknown"}
        own_share = own / max(1e-9, (time.perf_counter() - self.started) * cores)
        return {"others_cpu_fraction": round(max(0.0, min(1.0, load - own_share)), 3), "cpu_count": cores,
                "source": "load average"}

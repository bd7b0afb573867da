"""The CPU's feature flags as the operating system reports them (Linux: /proc/cpuinfo)."""

from __future__ import annotations

from pathlib import Path


def cpu_flags(cpuinfo: str | Path = "/proc/cpuinfo") -> frozenset[str] | None:
    """The first CPU's flags, or None where they cannot be read (no /proc/cpuinfo, or no flags line)."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return None
    line = next((line for line in text.splitlines() if line.startswith("flags")), None)
    return None if line is None else frozenset(line.split(":", 1)[1].split())

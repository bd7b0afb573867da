"""The CPU's vector-instruction features that decide a benchmark's figures (AVX2 only, AVX-512, AMX):
the same code runs 2-3x apart between these machines, so every result records them."""

from __future__ import annotations

from pathlib import Path

FEATURES = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


def cpu_features(cpuinfo: Path = Path("/proc/cpuinfo")) -> list[str]:
    """Those of FEATURES that the first CPU's flags name (empty where /proc/cpuinfo is absent)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return []
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            return [name for name in FEATURES if name in flags]
    return []

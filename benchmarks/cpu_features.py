"""The CPU's vector-instruction features that decide a benchmark's figures (AVX2 only, AVX-512, AMX):
the same code runs 2-3x apart between these machines, so every result records them."""

from __future__ import annotations

from pathlib import Path

from core.cpu_flags import cpu_flags

FEATURES = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


def cpu_features(cpuinfo: Path = Path("/proc/cpuinfo")) -> list[str]:
    """Those of FEATURES that the first CPU's flags name (empty where they cannot be read)."""
    flags = cpu_flags(cpuinfo) or frozenset()
    return [name for name in FEATURES if name in flags]

"""core.cpu_flags: the first CPU's flags, or None when they cannot be read."""

from __future__ import annotations

from core.cpu_flags import cpu_flags


def test_the_first_cpus_flags_or_none(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu avx2\n\nprocessor\t: 1\nflags\t\t: fpu amx_int8\n")
    assert cpu_flags(info) == frozenset({"fpu", "avx2"})
    info.write_text("processor\t: 0\n")
    assert cpu_flags(info) is None
    assert cpu_flags(tmp_path / "missing") is None

"""benchmarks/policy_parts.py and the CPU features every benchmark result records."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.cpu_features import cpu_features

ROOT = Path(__file__).resolve().parents[2]


def test_cpu_features_names_the_vector_extensions_of_the_first_cpu(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 fma avx512f avx512_vnni\n\n"
                    "processor\t: 1\nflags\t\t: fpu amx_bf16\n")
    assert cpu_features(info) == ["avx2", "avx512f", "avx512_vnni"]
    info.write_text("processor\t: 0\n")
    assert cpu_features(info) == []
    assert cpu_features(tmp_path / "missing") == []


def test_policy_parts_times_the_searchs_and_the_runtimes_policy_at_each_stride(tmp_path):
    out = tmp_path / "parts.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "policy_parts.py"), "--repeats", "2",
                           "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert set(result["strides"]) == {"4", "8", "16"} and "cpu_features" in result["machine"]
    for record in result["strides"].values():
        assert record["total_ms"] > 0 and record["runtime_total_ms"] > 0 and record["reached_edge_smoothed_ms"] > 0
    assert "(runtime " in done.stdout

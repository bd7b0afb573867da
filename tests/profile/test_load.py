"""Latency tables say how busy the machine was and how spread their timings were; the CLI flags both."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from core.profile.costs import CostTable, PieceCost
from core.profile.load import LoadProbe


def table(p10: float, p90: float, others: float | None) -> CostTable:
    pieces = [PieceCost(1.0, 10.0, p10, p90) for _ in range(2)]
    extra = {"load": {"others_cpu_fraction": others, "cpu_count": 2}} if others is not None else {}
    return CostTable((64, 64), "cpu", pieces, {"final": PieceCost(1.0, 10.0, p10, p90)}, extra=extra)


def test_a_table_with_a_large_spread_or_measured_under_load_is_flagged():
    assert table(9.0, 11.0, 0.02).warnings() == []
    assert table(9.0, 11.0, None).warnings() == []
    spread = table(5.0, 20.0, 0.0).warnings()
    assert spread == ["latency spread is large: full network p10 15.0 ms, p90 60.0 ms"]
    assert table(9.0, 11.0, 0.6).warnings() == ["measured while other processes used 60 % of the CPU"]
    assert table(9.0, 11.0, 0.6).full_network_spread() == (30.0, 27.0, 33.0)


def test_the_probe_sees_another_process_using_the_cpu():
    burner = subprocess.Popen([sys.executable, "-c",
                               "import time\nend = time.time() + 3\nwhile time.time() < end: pass"])
    try:
        time.sleep(0.3)
        probe = LoadProbe()
        time.sleep(1.5)
        load = probe.stop()
    finally:
        burner.kill()
        burner.wait()
    if load.get("source") == "unknown":
        pytest.skip("no way to read the machine's load here")
    assert load["others_cpu_fraction"] > 0.25, load


def test_saved_tables_keep_the_load_and_the_cli_warns(tmp_path, capsys):
    from core.cli.common import warn_about_table

    path = tmp_path / "t.json"
    table(9.0, 11.0, 0.6).save(path)
    loaded = CostTable.load(path)
    assert loaded.extra["load"]["others_cpu_fraction"] == 0.6
    warn_about_table(loaded, str(path))
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"warning: {path}: measured while other processes used 60 % of the CPU; "
                   "re-measure on an idle machine"]


def test_the_cli_says_to_measure_an_older_messs_table_again_not_to_find_an_idle_machine(tmp_path, capsys):
    from core.cli.common import warn_about_table

    path = tmp_path / "old.json"
    path.write_text(json.dumps(dict(table(9.0, 11.0, None).to_json(), format_version=2)))
    warn_about_table(CostTable.load(path), str(path))
    assert capsys.readouterr().err.strip().splitlines() == [
        f"warning: {path}: measured by an older mess (latency-table version 2), which may have timed a slower "
        "form of the exit policy than the runtime's; measure it again with 'mess profile'"]

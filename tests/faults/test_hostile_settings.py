"""Settings read through one validating layer: out-of-range or unreadable values fall back to the defaults,
the bad key is rewritten, and the app starts (it used to stop with an OverflowError or TypeError traceback).
Moved here from tests/app/test_settings.py."""

from __future__ import annotations

import subprocess
import sys

import pytest

from app.settings import Settings

HOSTILE = {
    "search/limit": "99999999999",
    "live/opacity": "99999999999",
    "search/budget/latency": "nan",
    "search/budget/gflops": "1e308",
    "train/splitter": "hello",
    "train/epochs1": "-5",
    "train/lr": "inf",
}


def test_bad_values_fall_back_to_the_default_and_are_rewritten(tmp_path):
    path = tmp_path / "s.ini"
    settings = Settings(str(path))
    for key, value in HOSTILE.items():
        settings.set(key, value)
    settings.sync()
    settings = Settings(str(path))
    assert settings.get("search/limit", 20, minimum=0, maximum=10_000) == 20
    assert settings.get("live/opacity", 50) == 50, "beyond Qt's int range"
    assert settings.get("search/budget/latency", 45.0, minimum=0.0, maximum=1e6) == 45.0
    assert settings.get("search/budget/gflops", 2.0, minimum=0.0, maximum=1e6) == 2.0
    assert settings.get_bytes("train/splitter") is None
    assert settings.get("train/mode", "a", choices=("a", "b")) == "a"
    assert len(settings.problems) == 5 and all(str(path) in p for p in settings.problems)
    settings.sync()
    again = Settings(str(path))
    assert again.get("search/limit", 20, minimum=0, maximum=10_000) == 20 and again.problems == []
    assert again.get_bytes("train/splitter") is None and again.problems == []


@pytest.mark.slow
def test_the_app_starts_with_hostile_settings_and_says_what_it_reset(tmp_path):
    path = tmp_path / "s.ini"
    settings = Settings(str(path))
    for key, value in HOSTILE.items():
        settings.set(key, value)
    settings.set("search/table", str(tmp_path / "deep.json"))
    (tmp_path / "deep.json").write_text("[" * 100000 + "]" * 100000)
    settings.sync()
    done = subprocess.run([sys.executable, "-m", "core.cli", "gui", "--quit-after", "3000", "--settings", str(path),
                           "--backend", "torch"], capture_output=True, text=True, timeout=300,
                          env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert "main window shown" in done.stdout and "[search/limit]" in done.stdout and "[live/opacity]" in done.stdout
    assert "[train/splitter] is not a saved layout" in done.stdout

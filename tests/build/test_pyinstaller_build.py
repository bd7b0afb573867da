"""The PyInstaller one-folder build (build.spec): it builds, and the built program starts offscreen,
shows the main window on the bundled model and exits cleanly. Slow (minutes), and run in CI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def measured_line(program: Path, tmp_path: Path, env: dict, backend: str) -> str:
    """The app's first line about its cost measurement (it prints one), then the app is stopped."""
    import time

    process = subprocess.Popen([str(program), "--settings", str(tmp_path / "settings2.ini"), "--backend", backend],
                               cwd=tmp_path, env={**env, "MESS_CACHE_DIR": str(tmp_path / "cache")},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline, lines = time.monotonic() + 400, []
    try:
        for line in process.stdout:
            lines.append(line)
            if "costs measured" in line or "cannot measure the costs" in line or time.monotonic() > deadline:
                return line.strip()
        return "".join(lines[-20:])
    finally:
        process.kill()
        process.wait()


@pytest.mark.slow
def test_build_spec_builds_a_program_that_opens_the_main_window(tmp_path):
    if shutil.which("pyinstaller", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("pyinstaller is not installed (pip install -e '.[dev]')")
    dist, work = tmp_path / "dist", tmp_path / "build"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    built = subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
                            "--distpath", str(dist), "--workpath", str(work), str(REPO_ROOT / "build.spec")],
                           cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=1800)
    assert built.returncode == 0, built.stderr[-4000:]
    program = dist / "mess-studio" / "mess-studio"
    assert program.is_file()
    assert list((dist / "mess-studio").rglob("assets/models/default/weights.safetensors")), "the bundled model is missing"
    try:
        # --backend openvino: the runtime is inside the build (an unavailable one stops the app with one line).
        started = subprocess.run([str(program), "--quit-after", "20000", "--settings", str(tmp_path / "settings.ini"),
                                  "--backend", "torch"],
                                 cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert started.returncode == 0, started.stdout[-2000:] + started.stderr[-4000:]
        assert "main window shown" in started.stdout
        assert "model opened" in started.stdout and "models/default" in started.stdout, started.stdout + started.stderr[-2000:]
        # On openvino, the Model page measures the bundled model at start: the CPU plugin must be in the build.
        assert measured_line(program, tmp_path, env, "openvino").startswith("MESS Studio: costs measured on openvino")
    finally:
        shutil.rmtree(dist, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)

"""The fault-injection suite: every test here is marked ``faults`` (``python -m pytest -q -m faults``).

Each case injects one fault (a full disk, SIGINT/SIGTERM, a silent or half-open stream, a hostile
file) and asserts what the user sees (one line on stderr, the exit code) and that nothing was lost
or half-written. The shared pieces: a tiny model, a clip, a 64 KiB tmpfs, and a `mess` subprocess.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.data.builders import noise_frames, write_tiny_model, write_video

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
SIZE = (48, 64)


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.faults)


def mess_env() -> dict[str, str]:
    """The environment of a `mess` subprocess: this checkout first, one OpenMP thread (2-core machines)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = "1"
    return env


def mess_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "core.cli", *args]


def one_line(stderr: str) -> str:
    """The single non-empty line of ``stderr`` (fails showing all of it otherwise)."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got: {stderr!r}"
    return lines[0]


def hidden_files(folder: Path) -> list[str]:
    """Temporary or partial files (hidden, .tmp, .part) anywhere under ``folder``."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if p.is_file() and (p.name.startswith(".") or p.suffix in (".tmp", ".part")))


def write_clip(path: Path, frames: int, seed: int = 1, size: tuple[int, int] = (96, 128)) -> Path:
    return write_video(path, noise_frames(frames, size, seed=seed))


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    """A tiny MobileNetV3 model (two early exits, 48x64 input) saved as a model folder."""
    return write_tiny_model(tmp_path_factory.mktemp("faults") / "model", SIZE)


@pytest.fixture
def tiny_disk(tmp_path):
    """A 64 KiB tmpfs (root only), else skip."""
    folder = tmp_path / "full"
    folder.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield folder
    if subprocess.run(["umount", str(folder)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)    # a file a failed test left open

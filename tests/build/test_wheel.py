"""A plain (non-editable) install finds the bundled model: the wheel carries it as data files under
share/mess-studio, and an install into a fresh venv, run from another folder, resolves and loads it."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL_FILES = {"model.json", "weights.safetensors", "MODEL_CARD.md", "recipe.json"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(out), str(REPO_ROOT)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-3000:]
    return next(out.glob("mess_studio-*.whl"))


@pytest.mark.slow
def test_the_wheel_carries_the_bundled_model_and_the_exported_runner(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    data = {Path(n).name for n in names if "/data/share/mess-studio/models/default/" in n}
    assert data == MODEL_FILES
    assert "core/deploy/runner.py" in names and "core/runtime/host.py" in names
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/", "assets/screenshots"))]


@pytest.mark.slow
def test_a_plain_install_run_from_another_folder_finds_the_model(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    installed = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
                               capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr[-3000:]
    # The dependencies (torch, ...) come from this test's environment, after the fresh venv's own packages.
    deps = sysconfig.get_paths()["purelib"]
    probe = ("import core, sys; from core.cli.common import resolve_model; from core.models import load_model; "
             "folder = resolve_model(None); net, info = load_model(folder); "
             "print(core.__file__); print(folder); print(len(net.exit_ids()))")
    done = subprocess.run([str(python), "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": deps, "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-3000:]
    core_file, folder, exits = done.stdout.split()
    assert core_file.startswith(str(env_dir)), "core must come from the installed wheel, not the source tree"
    assert folder == str(env_dir / "share" / "mess-studio" / "models" / "default")
    assert int(exits) > 1

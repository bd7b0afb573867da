"""SIGINT and SIGTERM at seeded random points of `mess train`: start-up, mid-epoch, checkpoint writing.

A tiny stage-1 run (6 CamVid-like images of 24x32 from tests/data/builders.py, batch 2, one thread) in a
subprocess gets the signal; then: one line on stderr (no traceback), exit 130 (SIGINT) or 143 (SIGTERM),
only complete files in the run folder (no hidden or .tmp/.part file, run.json and every checkpoint and
model folder readable), and `mess train --resume` finishes the run. (The SIGTERM case used to live in
tests/train/test_resume_guard.py.)
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from core.cli.main import main
from core.models import load_model
from core.models.pretrained import read_safetensors
from core.train.config import TrainConfig
from tests.data.builders import write_camvid
from tests.faults.conftest import hidden_files, mess_argv, mess_env, one_line
from tests.processes import default_sigint

EPOCHS = 2
SEED = 16
EXIT_CODES = {"SIGINT": 130, "SIGTERM": 143}
LAST_LINES = {"SIGINT": "mess: interrupted", "SIGTERM": "mess: terminated"}


@dataclass(frozen=True)
class Moment:
    """When to send the signal: ``phase`` names the point, ``delay`` the seeded wait once it is reached."""

    phase: str     # "start-up" (after launch), "mid-epoch" (after run.json), "checkpoint" (a checkpoint being written)
    delay: float


def moments() -> list[tuple[str, Moment]]:
    rng = random.Random(SEED)
    return [("SIGINT", Moment("start-up", rng.uniform(0.2, 1.5))),
            ("SIGTERM", Moment("mid-epoch", rng.uniform(0.0, 0.6))),
            ("SIGINT", Moment("checkpoint", 0.0)),
            ("SIGTERM", Moment("checkpoint", 0.0))]


def train_argv(data: Path, out: Path) -> list[str]:
    return ["train", "--data", str(data), "--out", str(out), "--backbone", "mobilenet_v3_large", "--epochs",
            str(EPOCHS), "--batch-size", "2", "--crop", "24x32", "--stage", "1", "--device", "cpu", "--threads", "1",
            "--quiet"]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("camvid") / "tiny"
    write_camvid(root, "train", n=6)
    write_camvid(root, "val", n=2)
    return root


def wait_for(moment: Moment, out: Path, process: subprocess.Popen, timeout_s: float = 300) -> None:
    """Until the moment's point is reached (or the run ended), then its delay."""
    deadline = time.monotonic() + timeout_s
    checkpoints = out / "checkpoints"

    def reached() -> bool:
        if moment.phase == "start-up":
            return True
        if moment.phase == "mid-epoch":
            return (out / "run.json").is_file()
        # a checkpoint is being written (its hidden temporary is there), or one was just written
        return any(checkpoints.glob(".*")) or any(checkpoints.glob("*.safetensors"))

    while time.monotonic() < deadline and process.poll() is None and not reached():
        time.sleep(0.002)
    time.sleep(moment.delay)


def assert_complete(out: Path) -> None:
    """Only whole files: no temporary or partial file; run.json, checkpoints and model folders readable."""
    assert hidden_files(out) == [], "temporary or partial files left"
    if not out.exists():
        return
    if (out / "run.json").exists():
        TrainConfig.load(out / "run.json")
    for checkpoint in (out / "checkpoints").glob("*.safetensors"):
        assert read_safetensors(checkpoint), checkpoint
    for model in ("stage1-model", "model"):
        if (out / model).exists():
            load_model(out / model)


def resume_in_process(out: Path, capsys) -> int:
    previous = torch.get_num_threads()
    torch.set_num_threads(1)      # tiny tensors: more threads only spin on a shared 2-core machine
    try:
        capsys.readouterr()
        return main(["train", "--out", str(out), "--resume", "--quiet"])
    finally:
        torch.set_num_threads(previous)


@pytest.mark.slow
@pytest.mark.parametrize("signame,moment", moments(), ids=[f"{s}-{m.phase}" for s, m in moments()])
def test_a_signal_at_a_random_point_of_mess_train_leaves_a_resumable_run(data, tmp_path, capsys, signame, moment):
    out = tmp_path / "run"
    process = subprocess.Popen(mess_argv(*train_argv(data, out)), env=mess_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               preexec_fn=default_sigint)
    wait_for(moment, out, process)
    if process.poll() is not None:
        pytest.skip(f"the tiny run ended before the {moment.phase} signal: {process.communicate()[1][-300:]}")
    process.send_signal(getattr(signal, signame))
    _, err = process.communicate(timeout=300)
    assert process.returncode == EXIT_CODES[signame], err
    assert one_line(err) == LAST_LINES[signame]
    assert_complete(out)
    if not (out / "run.json").is_file():          # stopped before the run began: --out is as it was
        assert not out.exists() or not any(out.iterdir()), sorted(p.name for p in out.iterdir())
        return
    code = resume_in_process(out, capsys)
    assert code == 0, capsys.readouterr().err
    assert_complete(out)
    net = load_model(out / "stage1-model")[0]
    assert net.exit_ids()[-1] == "final"

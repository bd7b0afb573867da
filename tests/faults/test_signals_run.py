"""SIGTERM and SIGINT during `mess run --out --stats`: both outputs finished with the frames so far.

Moved here from tests/cli/test_run.py. SIGTERM (what `timeout` and service managers send) used to lose
both files and leave hidden .part files; SIGINT (Ctrl-C) already finished them.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time

import cv2
import pytest

from tests.faults.conftest import hidden_files, mess_argv, mess_env, one_line, write_clip
from tests.processes import default_sigint

FRAMES = 1500


def recorded_frames(path) -> int:
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


def start_run(model_dir, clip, *, out, stats) -> subprocess.Popen:
    """`mess run --out --stats` on ``clip`` in a child process (torch backend, one thread)."""
    return subprocess.Popen(mess_argv("run", "--model", str(model_dir), "--source", str(clip), "--out", str(out),
                                      "--stats", str(stats), "--device", "cpu", "--backend", "torch", "--threads", "1",
                                      "--quiet"),
                            env=mess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=default_sigint)


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory):
    return write_clip(tmp_path_factory.mktemp("clip") / "long.mp4", FRAMES)


@pytest.mark.slow
@pytest.mark.parametrize("signame", ["SIGTERM", "SIGINT"])
def test_sigterm_and_sigint_finish_both_outputs(model_dir, long_clip, tmp_path, signame):
    out, stats = tmp_path / "o.mp4", tmp_path / "s.jsonl"
    process = start_run(model_dir, long_clip, out=out, stats=stats)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(tmp_path.glob(".o.*")):   # the first frame is being recorded
        time.sleep(0.05)
    time.sleep(1.0)
    assert process.poll() is None, "the run ended before the signal: make the clip longer"
    process.send_signal(getattr(signal, signame))
    _, err = process.communicate(timeout=120)
    assert process.returncode == (143 if signame == "SIGTERM" else 130), err
    assert one_line(err) == ("mess: terminated" if signame == "SIGTERM" else "mess: interrupted")
    lines = [json.loads(line) for line in stats.read_text().splitlines()]
    summary = lines[-1]["summary"]
    assert summary["interrupted"] is True and 0 < len(lines) - 1 < FRAMES
    assert recorded_frames(out) >= len(lines) - 1
    assert hidden_files(tmp_path) == [], "hidden partial files left"


STARTUP_SEED = 7


def startup_moments() -> list[tuple[str, float]]:
    rng = random.Random(STARTUP_SEED)
    return [(name, round(rng.uniform(0.2, 2.5), 2)) for name in ("SIGTERM", "SIGINT", "SIGTERM", "SIGINT")]


@pytest.mark.slow
@pytest.mark.parametrize("signame,delay", startup_moments(), ids=[f"{s}-{d}s" for s, d in startup_moments()])
def test_a_signal_during_start_up_leaves_nothing_half_written(model_dir, long_clip, tmp_path, signame, delay):
    """At a seeded random point of start-up (imports, the model, the source opening, the first frames)."""
    out, stats = tmp_path / "o.mp4", tmp_path / "s.jsonl"
    process = start_run(model_dir, long_clip, out=out, stats=stats)
    time.sleep(delay)
    assert process.poll() is None, "the run ended before the signal"
    process.send_signal(getattr(signal, signame))
    _, err = process.communicate(timeout=120)
    assert process.returncode == (143 if signame == "SIGTERM" else 130), err
    assert one_line(err) == ("mess: terminated" if signame == "SIGTERM" else "mess: interrupted")
    assert hidden_files(tmp_path) == [], "hidden partial files left"
    if stats.exists():                               # past the first frame: both outputs whole
        lines = [json.loads(line) for line in stats.read_text().splitlines()]
        assert lines[-1]["summary"]["interrupted"] is True
        assert recorded_frames(out) >= len(lines) - 1
    else:
        assert not out.exists(), "a video without its stats"

"""Shared fixtures of the training tests: a tiny CamVid-style dataset and one reference 'all' run.

Every run is tiny (MobileNetV3-Large, 6 training images of 48x64, crop 32x48, batch 2,
so 3 steps per epoch) and on the CPU.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch

from core.cli.commands.train import config_from_args
from core.cli.main import build_parser
from core.jobs import Progress, run_job
from core.train.config import TrainConfig
from core.train.trainer import Trainer
from tests.data import builders

REPO_ROOT = Path(__file__).resolve().parents[2]
H, W = 48, 64
NUM_CLASSES, VOID = 11, 11
PALETTE = np.random.default_rng(123).integers(0, 256, size=(NUM_CLASSES + 1, 3))

# The reference run: 2 epochs per stage, 3 steps per epoch.
EPOCHS = 2
STEPS_PER_EPOCH = 3


def label_map(rng: np.random.Generator) -> np.ndarray:
    mask = np.full((H, W), rng.integers(0, NUM_CLASSES), np.uint8)
    for _ in range(4):
        y, x = rng.integers(0, H - 8), rng.integers(0, W - 8)
        h, w = rng.integers(8, 24), rng.integers(8, 32)
        mask[y:y + h, x:x + w] = rng.integers(0, NUM_CLASSES)
    mask[:3, :] = VOID
    return mask


def colour_image(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """BGR image: the label's colour plus noise."""
    image = PALETTE[mask].astype(np.float64) + rng.normal(0, 20, (*mask.shape, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


def labelled_images(n: int, rng: np.random.Generator) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``n`` (BGR image, label mask) pairs: boxes of random classes, each image the colours of its label."""
    for _ in range(n):
        mask = label_map(rng)
        yield colour_image(mask, rng), mask


def write_split(root: Path, split: str, n: int, seed: int, sequence: str = "0001TP") -> None:
    samples = ((f"{sequence}_{i:06d}.png", image, mask)
               for i, (image, mask) in enumerate(labelled_images(n, np.random.default_rng(seed))))
    builders.write_camvid_pairs(root, samples, split)


def write_tiny_camvid(root: Path, n_train: int = 6, n_val: int = 2) -> Path:
    """CamVid layout: train/, trainannot/, val/, valannot/ with same-named PNGs (11 = void)."""
    write_split(root, "train", n_train, seed=1)
    write_split(root, "val", n_val, seed=2)
    return root


def write_images(folder: Path, n: int = 4, seed: int = 7) -> Path:
    return builders.write_image_folder(folder, (image for image, _ in labelled_images(n, np.random.default_rng(seed))))


def write_video(path: Path, frames: int = 10, seed: int = 9) -> Path:
    return builders.write_video(path, (image for image, _ in labelled_images(frames, np.random.default_rng(seed))))


def tiny_argv(data: Path | str | None, out: Path | str, *extra: str, epochs: int = EPOCHS) -> list[str]:
    """`mess train` arguments of a tiny run (without the leading 'train')."""
    argv = ["--out", str(out), "--backbone", "mobilenet_v3_large", "--epochs", str(epochs), "--batch-size", "2",
            "--crop", "32x48", "--stage2-heads", "fcn-c64-b0", "--device", "cpu", "--quiet"]
    if data is not None:
        argv = ["--data", str(data), *argv]
    return argv + list(extra)


def config_of(argv: list[str]) -> TrainConfig:
    """The TrainConfig `mess train <argv>` builds, so in-process runs match CLI runs exactly."""
    return config_from_args(build_parser().parse_args(["train", *argv]))


@contextmanager
def one_thread():
    """One intra-op thread: tiny tensors gain nothing from more, and OpenMP threads spinning on a
    shared 2-core machine make a 2 s run take a minute. Subprocesses get OMP_NUM_THREADS=1 too, so
    an in-process run and a CLI run compute exactly the same numbers (resume tests compare them)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def run_trainer(config: TrainConfig, resume: bool = False, cancel=None, on_event=None) -> tuple[Path, list[Progress]]:
    """Run a Trainer job in process (one thread) and return (its result, its progress events)."""
    events: list[Progress] = []

    def record(event: Progress) -> None:
        events.append(event)
        if on_event is not None:
            on_event(event)

    with one_thread():
        result = run_job(Trainer(config, resume=resume, cancel=cancel).run(), record)
    return Path(result), events


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = "1"      # as in process (see one_thread)
    return env


PYTHON = sys.executable


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*")) if folder.exists() else []


@dataclass
class ReferenceRun:
    data: Path
    out: Path
    argv: list[str]
    events: list[Progress] = field(default_factory=list)


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    return write_tiny_camvid(tmp_path_factory.mktemp("data") / "tiny")


@pytest.fixture(scope="session")
def reference_run(tiny_data, tmp_path_factory) -> ReferenceRun:
    """One uninterrupted 'all' run (2 epochs per stage), in process, with its progress events."""
    out = tmp_path_factory.mktemp("reference") / "run"
    argv = tiny_argv(tiny_data, out)
    result, events = run_trainer(config_of(argv))
    assert result == out / "model"
    return ReferenceRun(tiny_data, out, argv, events)

"""app.screenshots: the README screenshots script, run end to end on data written at test time.

A tiny CamVid-style dataset, a short mp4v clip and a run folder with two epochs; the real
window on a copy of the bundled model (nothing is written into assets/), offscreen.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from app import screenshots
from core.cli.common import BUNDLED_MODEL
from core.train.config import TrainConfig
from tests.data.builders import street_frames, write_video
from tests.train.conftest import one_thread, write_tiny_camvid

PAGES = ("model.png", "train.png", "search.png", "live.png", "live-side-by-side.png", "presentation.png")


@pytest.fixture(autouse=True)
def single_thread():
    with one_thread():        # a shared 2-core machine: one torch thread
        yield


def write_clip(path: Path, frames: int = 12, h: int = 64, w: int = 96) -> Path:
    return write_video(path, street_frames(frames, (h, w), seed=4, x0=0, dx=8, box=(20, 8, 10)))


def write_run(folder: Path, data: Path) -> Path:
    """A run folder as `mess train` leaves it after two stage-1 epochs (run.json + metrics.jsonl)."""
    folder.mkdir(parents=True)
    config = TrainConfig(data=str(data), out=str(folder), epochs_stage1=2, epochs_stage2=1)
    (folder / "run.json").write_text(json.dumps(config.to_json()))
    records = [{"event": "epoch", "stage": 1, "epoch": e, "step": 3 * (e + 1), "loss": 2.0 - 0.5 * e, "lr": 0.01,
                "seconds": 1.0, "images_per_s": 6.0, "val_miou": {"features.3:fcn-c64-b0": 10.0 + e, "final": 20.0 + e}}
               for e in range(2)]
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return folder


def bundled_calibration() -> list[tuple[str, int]]:
    """The bundled model's calibration slots and their modification times."""
    from core.search.calibration_store import CalibrationStore

    return [(p.name, p.stat().st_mtime_ns) for p in CalibrationStore.of_model(BUNDLED_MODEL).slots()]


def test_all_pages_are_saved_as_non_trivial_pngs(qapp, tmp_path, capsys):
    data = write_tiny_camvid(tmp_path / "camvid")
    clip = write_clip(tmp_path / "clip.mp4")
    run = write_run(tmp_path / "run", data)
    out = tmp_path / "shots"
    calibration_before = bundled_calibration()
    code = screenshots.main(["--out", str(out), "--data", str(data), "--video", str(clip), "--run", str(run),
                             "--play-seconds", "1"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    for name in PAGES:
        path = out / name
        assert str(path) in printed.out.splitlines(), f"{path} is printed"
        image = cv2.imread(str(path))
        assert image is not None, path
        assert min(image.shape[:2]) >= 400, (name, image.shape)
        colours = np.unique(image.reshape(-1, 3)[::7], axis=0)
        assert len(colours) > 50, f"{name}: {len(colours)} colours, a blank picture?"
    for name in PAGES[:5]:
        assert cv2.imread(str(out / name)).shape[:2] == (800, 1280), name
    assert bundled_calibration() == calibration_before, "the search ran on a copy of the bundled model"


def test_missing_inputs_give_one_line_and_a_non_zero_exit(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    code = screenshots.main(["--out", str(tmp_path / "out"), "--data", str(data),
                             "--video", str(tmp_path / "nothing.mp4")])
    err = capsys.readouterr().err
    assert code != 0 and "nothing.mp4" in err and err.count("\n") == 1
    code = screenshots.main(["--out", str(tmp_path / "out"), "--data", str(tmp_path / "no-data"),
                             "--video", str(tmp_path / "nothing.mp4")])
    err = capsys.readouterr().err
    assert code != 0 and "no-data" in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_label_free_search_calibrates_on_the_video_alone(qapp, tmp_path, capsys):
    """--label-free: the search calibrates on the clip (no labelled dataset exists here at all)."""
    clip = write_clip(tmp_path / "clip.mp4")
    out = tmp_path / "shots"
    code = screenshots.main(["--out", str(out), "--data", str(tmp_path / "no-data"), "--video", str(clip),
                             "--label-free", "--limit", "6", "--play-seconds", "1", "--no-presentation"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "train.png is skipped" in printed.out
    for name in ("model.png", "search.png", "live.png", "live-side-by-side.png"):
        assert cv2.imread(str(out / name)) is not None, name
    assert not (out / "presentation.png").exists()

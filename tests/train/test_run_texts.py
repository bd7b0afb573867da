"""The Train page's words for a run, without Qt."""

from __future__ import annotations

from types import SimpleNamespace

from core.jobs import Progress
from core.train.run_texts import (clock_text, differences_note, launch_line, progress_view, run_folder_view,
                                  setting_text)


def test_clock_and_setting_texts():
    assert clock_text(None) == "estimating..."
    assert clock_text(75) == "01:15" and clock_text(3725) == "1:02:05"
    assert setting_text(None) == "none" and setting_text({}) == "none"
    assert setting_text((360, 480)) == "360x480" and setting_text(0.01) == "0.01"
    assert setting_text({"output_stride": 8}) == "output_stride 8"


def test_a_finished_run_is_not_offered_a_resume_in_the_differences_note():
    found = [("backbone", "resnet18", "mobilenet_v3_large")]
    assert differences_note([], finished=False) == ""
    open_run = differences_note(found, finished=False)
    assert "backbone resnet18 (the run: mobilenet_v3_large)" in open_run and "Resume continues" in open_run
    done = differences_note(found, finished=True)
    assert "Resume" not in done and done.endswith("Start needs a new run folder.")


def test_the_run_folder_view():
    assert run_folder_view(None).progress == "no run"
    finished = run_folder_view(SimpleNamespace(finished=True, result="runs/x/model"))
    assert finished.full and "runs/x/model" in finished.message
    stopped = run_folder_view(SimpleNamespace(finished=False, result=None))
    assert stopped.progress == "stopped" and "Resume continues it" in stopped.message


def test_progress_views_of_training_and_validation_events():
    config = SimpleNamespace(out="runs/a", stage="all", backbone="resnet18", batch_size=8, device="cpu")
    assert launch_line(config, resume=True) == "resuming runs/a: stages 1 and 2, resnet18, batch 8, device cpu"
    step = Progress("stage1", 3, 45, metrics={"loss": 1.0, "stage": 1, "epoch": 2, "epochs": 6,
                                              "images_per_s": 2.5, "eta_s": None})
    view = progress_view(step, "")
    assert view.stage == "stage 1 · epoch 2/6" and view.value == (3, 45) and view.message == "Training..."
    assert view.bar == "stage 1 · epoch 2/6 · step 3/45 · 2.5 img/s · ETA estimating..."
    check = progress_view(Progress("exits", 4, 20, metrics={"eta_s": 65}), view.stage)
    assert check.bar == "stage 1 · epoch 2/6 · validating image 4/20 · ETA 01:05" and check.message == "Validating..."
    assert progress_view(Progress("resume", 0, 1), "x") == type(view)("x")

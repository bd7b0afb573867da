"""core.train.history: curve points and log lines from Trainer events and metrics.jsonl."""

from __future__ import annotations

import json

import pytest

from core.errors import ConfigError
from core.jobs import Progress
from core.train.config import TrainConfig
from core.train.history import (
    TrainingHistory,
    epoch_line,
    inspect_run,
    model_folder_of,
    read_metrics,
    smooth,
)

from .conftest import EPOCHS, STEPS_PER_EPOCH


def step_event(stage: int, step: int, loss: float, epochs: int = 2, per_epoch: int = 3) -> Progress:
    epoch = (step - 1) // per_epoch + 1
    return Progress(f"stage{stage}", step, epochs * per_epoch, f"epoch {epoch}/{epochs}",
                    {"stage": stage, "epoch": epoch, "epochs": epochs, "step": step, "loss": loss,
                     "images_per_s": 10.0, "eta_s": 1.0})


def val_event(stage: int, epoch: int, val: dict, epochs: int = 2) -> Progress:
    return Progress(f"stage{stage}", epoch * 3, epochs * 3, f"epoch {epoch}/{epochs} validated",
                    {"stage": stage, "epoch": epoch, "epochs": epochs, "val_miou": val})


def test_steps_are_placed_in_epochs_and_stage2_follows_stage1():
    history = TrainingHistory(epochs_stage1=2, epochs_stage2=2, runs_stage1=True)
    for step in (1, 2, 3):
        assert history.add_progress(step_event(1, step, float(step))) is None
    history.add_progress(step_event(2, 3, 0.5))
    xs, ys = history.loss_curve(1)
    assert xs == pytest.approx([1 / 3, 2 / 3, 1.0]) and ys == [1.0, 2.0, 3.0]
    assert history.loss_curve(2)[0] == pytest.approx([3.0])      # 2 stage-1 epochs, then epoch 1 of stage 2


def test_a_stage2_only_run_starts_at_zero():
    history = TrainingHistory.for_config(TrainConfig(data="d", out="o", stage="2", epochs_stage1=5, epochs_stage2=2))
    history.add_progress(step_event(2, 3, 0.5))
    assert history.loss_curve(2)[0] == pytest.approx([1.0])
    assert history.total_epochs() == 2
    both = TrainConfig(data="d", out="o", epochs_stage1=5, epochs_stage2=2)
    assert TrainingHistory.for_config(both).total_epochs() == 7


def test_validation_events_give_points_per_exit_and_a_log_line():
    history = TrainingHistory(2, 2, True)
    for step in (1, 2, 3):
        history.add_progress(step_event(1, step, 2.0))
    before = history.version
    line = history.add_progress(val_event(1, 1, {"final": 40.0, "a:fcn-c64-b0": 10.0, "b:fcn-c64-b0": 20.5}))
    assert history.version > before
    assert line == ("stage 1 epoch 1/2: loss 2.0000, val mIoU final 40.00, best early exit 20.50 (b:fcn-c64-b0) "
                    "[10.0 img/s]")
    assert history.exits == ["a:fcn-c64-b0", "b:fcn-c64-b0", "final"]
    assert history.val_curve(1, "final") == ([1], [40.0])
    history.add_progress(val_event(2, 1, {"c:dlb-c128-b0": 5.0, "final": 40.0}))
    assert history.exits[-1] == "final"
    assert history.val_curve(2, "final") == ([3], [40.0])
    assert history.stages() == [1, 2]


def test_redone_steps_replace_the_ones_after_the_checkpoint():
    history = TrainingHistory(2, 2, True)
    for step in (1, 2, 3, 4, 5):                  # cancelled at step 5; the checkpoint holds epoch 1 (step 3)
        history.add_progress(step_event(1, step, 9.0))
    for step in (4, 5, 6):                        # the resumed run redoes epoch 2
        history.add_progress(step_event(1, step, 1.0))
    xs, ys = history.loss_curve(1)
    assert len(xs) == 6 and ys == [9.0, 9.0, 9.0, 1.0, 1.0, 1.0]


def test_records_with_step_losses_give_the_steps_and_older_records_their_epoch_means():
    history = TrainingHistory(epochs_stage1=3, epochs_stage2=1, runs_stage1=True)
    history.load_records([
        {"event": "epoch", "stage": 1, "epoch": 0, "step": 4, "loss": 2.5, "steps_in_epoch": 4,
         "step_losses": [4.0, 3.0, 2.0, 1.0], "steps_per_loss_point": 1},
        {"event": "epoch", "stage": 1, "epoch": 1, "step": 8, "loss": 1.0, "steps_in_epoch": 4,
         "step_losses": [1.5, 0.5], "steps_per_loss_point": 3},        # binned: 3 steps, then the last one
    ])
    xs, ys = history.loss_curve(1)
    assert xs == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.75, 2.0]) and ys == [4.0, 3.0, 2.0, 1.0, 1.5, 0.5]
    assert [p[0] for p in history.steps[1]] == [1, 2, 3, 4, 7, 8]
    assert history.epoch_loss_curve(1) == ([], [])
    for step in (9, 10):                          # the resumed run goes on after them
        history.add_progress(step_event(1, step, 0.25, epochs=3, per_epoch=4))
    assert history.loss_curve(1)[0][-2:] == pytest.approx([2.25, 2.5])
    older = TrainingHistory(epochs_stage1=3, epochs_stage2=1, runs_stage1=True)
    older.load_records([{"event": "epoch", "stage": 1, "epoch": 0, "step": 4, "loss": 2.5}])
    assert older.loss_curve(1) == ([], []) and older.epoch_loss_curve(1) == ([1], [2.5])


def test_smooth_is_a_debiased_moving_average():
    assert smooth([]) == []
    assert smooth([4.0]) == [4.0]
    assert smooth([2.0, 2.0, 2.0]) == pytest.approx([2.0, 2.0, 2.0])
    values = smooth([0.0, 10.0], weight=0.5)
    assert 0.0 < values[1] < 10.0


def test_epoch_line_without_validation_and_without_extras():
    assert epoch_line(2, 3, 30, {}) == "stage 2 epoch 3/30: no validation"
    assert epoch_line(1, 1, None, {"final": 1.0}, seconds=2.0) == "stage 1 epoch 1/?: val mIoU final 1.00 [2.0 s]"


def test_read_metrics_skips_a_torn_last_line(tmp_path):
    path = tmp_path / "metrics.jsonl"
    assert read_metrics(path) == []
    path.write_text(json.dumps({"event": "epoch", "stage": 1, "epoch": 0}) + "\n" + '{"event": "ep')
    assert read_metrics(path) == [{"event": "epoch", "stage": 1, "epoch": 0}]


def test_inspect_run(tmp_path):
    assert inspect_run(tmp_path) is None
    (tmp_path / "run.json").write_text("{broken")
    with pytest.raises(ConfigError):
        inspect_run(tmp_path)
    config = TrainConfig(data="d", out="elsewhere", stage="1")
    (tmp_path / "run.json").write_text(json.dumps(config.to_json()))
    info = inspect_run(tmp_path)
    assert info.config.out == str(tmp_path) and not info.finished
    assert model_folder_of(info.config) == tmp_path / "stage1-model"
    (tmp_path / "stage1-model").mkdir()
    (tmp_path / "stage1-model" / "model.json").write_text("{}")
    assert inspect_run(tmp_path).result == tmp_path / "stage1-model"


def test_a_real_run_gives_curves_from_its_events_and_the_same_lines_from_its_metrics(reference_run):
    info = inspect_run(reference_run.out)
    assert info.finished and info.result == reference_run.out / "model"
    live = TrainingHistory.for_config(info.config)
    lines = [line for line in map(live.add_progress, reference_run.events) if line]
    assert len(lines) == 2 * EPOCHS
    assert len(live.loss_curve(1)[0]) == EPOCHS * STEPS_PER_EPOCH
    assert live.loss_curve(2)[0][-1] == pytest.approx(2 * EPOCHS)
    replay = TrainingHistory.for_config(info.config)
    earlier = replay.load_records(read_metrics(info.metrics))
    assert len(earlier) == 2 * EPOCHS
    assert [line.split(":")[0] for line in earlier] == [line.split(":")[0] for line in lines]
    for stage in (1, 2):      # the run's step losses come back from metrics.jsonl: the same curve as live
        assert replay.loss_curve(stage)[0] == pytest.approx(live.loss_curve(stage)[0])
        assert replay.loss_curve(stage)[1] == pytest.approx(live.loss_curve(stage)[1], rel=1e-5)
        assert replay.epoch_loss_curve(stage) == ([], [])
    for key, points in live.val.items():
        assert replay.val[key] == pytest.approx(points)

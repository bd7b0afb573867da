"""Stochastic weight averaging of stage 1 (--swa-epochs): the average, its schedule, resume and errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import core.train.trainer as trainer_module
from core.errors import ConfigError
from core.jobs import CancelToken, Cancelled
from core.models import load_model
from core.train.averaging import WeightAverage
from core.train.history import TrainingHistory
from core.train.schedule import averaging_lr, poly_lr

from .conftest import STEPS_PER_EPOCH, config_of, run_trainer, tiny_argv
from .test_trainer import metrics_lines, resume_in_process, same_weights

EPOCHS, AVERAGED = 3, 2


def test_weight_average_is_the_running_mean_and_keeps_the_latest_integers():
    snapshots = [{"w": torch.tensor([1.0, 2.0]), "n": torch.tensor(3)},
                 {"w": torch.tensor([3.0, 6.0]), "n": torch.tensor(5)},
                 {"w": torch.tensor([5.0, 1.0]), "n": torch.tensor(9)}]
    average = WeightAverage()
    assert average.tensors() == {}
    for snapshot in snapshots:
        average.update(snapshot)
    assert average.count == 3
    assert torch.allclose(average.state["w"], torch.tensor([3.0, 3.0]))
    assert int(average.state["n"]) == 9
    snapshots[0]["w"] += 100          # the average holds copies
    restored = WeightAverage.from_tensors(average.tensors())
    assert restored.count == 3 and torch.equal(restored.state["w"], average.state["w"])
    restored.update({"w": torch.tensor([7.0, 7.0]), "n": torch.tensor(10)})
    assert torch.allclose(restored.state["w"], torch.tensor([4.0, 4.0]))


def test_averaging_lr_decays_then_holds_the_averaging_rate():
    total, averaged = 100, 30
    assert averaging_lr(0.1, 0, total, 10, 0, 0.5) == poly_lr(0.1, 0, total, 10)
    assert averaging_lr(0.1, 99, total, 10, 0, 0.5) == poly_lr(0.1, 99, total, 10)
    assert averaging_lr(0.1, 50, total, 10, averaged, 0.01) == poly_lr(0.1, 50, total - averaged, 10)
    assert [averaging_lr(0.1, s, total, 10, averaged, 0.01) for s in (70, 85, 99)] == [0.01] * 3
    assert averaging_lr(0.1, 0, total, 10, total, 0.01) == 0.01     # every epoch averaged: no decay phase


def swa_argv(data: Path, out: Path, *extra: str) -> list[str]:
    return tiny_argv(data, out, "--stage", "1", "--swa-epochs", str(AVERAGED), "--swa-lr", "0.02", *extra,
                     epochs=EPOCHS)


@pytest.fixture(scope="module")
def swa_run(tiny_data, tmp_path_factory, monkeypatch_module):
    """A 3-epoch stage-1 run averaging its last 2 epochs; the weights saved at every epoch's end."""
    saved: list[dict[str, torch.Tensor]] = []
    original = trainer_module.save_checkpoint

    def recording(path, model_state, *args, **kwargs):
        saved.append({k: v.detach().clone() for k, v in model_state.items()})
        return original(path, model_state, *args, **kwargs)

    monkeypatch_module.setattr(trainer_module, "save_checkpoint", recording)
    out = tmp_path_factory.mktemp("swa") / "run"
    result, events = run_trainer(config_of(swa_argv(tiny_data, out)))
    monkeypatch_module.undo()
    return out, result, events, saved


@pytest.fixture(scope="module")
def monkeypatch_module():
    patch = pytest.MonkeyPatch()
    yield patch
    patch.undo()


def test_stage1_model_holds_the_mean_of_the_last_epochs_weights(swa_run):
    out, result, _, saved = swa_run
    assert result == out / "stage1-model"
    assert len(saved) == EPOCHS
    model, _ = load_model(result)
    state = model.state_dict()
    last = saved[-AVERAGED:]
    checked = 0
    for name, value in state.items():
        if not value.is_floating_point():
            continue
        expected = sum(s[name] for s in last) / AVERAGED
        assert torch.allclose(value, expected, atol=1e-6), name
        checked += 1
    assert checked > 50
    differs = [n for n, v in state.items() if v.is_floating_point() and not torch.allclose(v, saved[-1][n])]
    assert differs, "the saved model is the last epoch's, not the average"


def test_averaged_epochs_run_at_the_averaging_rate_and_are_logged(swa_run):
    out, _, events, _ = swa_run
    rates = [e.metrics["lr"] for e in events if "loss" in e.metrics]
    assert len(rates) == EPOCHS * STEPS_PER_EPOCH
    assert rates[STEPS_PER_EPOCH:] == [0.02] * (AVERAGED * STEPS_PER_EPOCH)
    records = metrics_lines(out)
    assert [r["event"] for r in records] == ["epoch"] * EPOCHS + ["average"]
    average = records[-1]
    assert average["epochs_averaged"] == AVERAGED and "final" in average["val_miou"]
    model_metrics = load_model(out / "stage1-model")[1].metrics["val_miou"]
    assert model_metrics["final"] == average["val_miou"]["final"]
    history = TrainingHistory.for_config(config_of(swa_argv(Path("x"), out)))
    lines = history.load_records(records)
    assert lines[-1].startswith(f"stage 1, weights of the last {AVERAGED} epochs averaged: val mIoU final")
    assert history.val_curve(1, "final")[1][-1] == average["val_miou"]["final"]


def test_resume_of_a_cancelled_averaging_run_gives_the_uninterrupted_weights(swa_run, tiny_data, tmp_path):
    reference = swa_run[0]
    out = tmp_path / "run"
    token = CancelToken()
    cancel_at = (EPOCHS - 1) * STEPS_PER_EPOCH + 1     # inside the last epoch: one snapshot averaged so far

    def on_event(event):
        if event.metrics.get("step") == cancel_at and "loss" in event.metrics:
            token.cancel()

    with pytest.raises(Cancelled):
        run_trainer(config_of(swa_argv(tiny_data, out)), cancel=token, on_event=on_event)
    result, _ = resume_in_process(out)
    assert result == out / "stage1-model"
    same_weights(out / "stage1-model", reference / "stage1-model")
    assert [r["event"] for r in metrics_lines(out)] == [r["event"] for r in metrics_lines(reference)]


@pytest.mark.parametrize("extra", [("--swa-epochs", "4"), ("--swa-epochs", "-1"),
                                   ("--swa-epochs", "1", "--swa-lr", "0")])
def test_bad_averaging_values_fail_before_any_write(tiny_data, tmp_path, extra):
    with pytest.raises(ConfigError) as caught:
        config_of(tiny_argv(tiny_data, tmp_path / "out", *extra, epochs=3))
    assert "swa" in str(caught.value) and "\n" not in str(caught.value)
    assert not (tmp_path / "out").exists()

"""The two-stage training job end to end on a tiny dataset: artifacts, progress, stage-1 rotation,
cancel, resume after SIGKILL, input errors before any write, label-free stage 2 and the CLI."""

from __future__ import annotations

import json
from dataclasses import replace
import math
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch

from core.cli.commands.train import config_from_args
from core.cli.main import build_parser, main
from core.data.classes import ClassSet
from core.errors import ConfigError, DataError, MessError
from core.jobs import CancelToken, Cancelled
from core.models import HeadConfig, convert_backbone, load_model, save_model
from core.models.network import MultiExitNet
from core.models.pretrained import read_safetensors
from core.train.checkpoint import load_checkpoint, read_info
from core.train.config import TrainConfig
from core.train.pace import MIN_TIMED_STEPS

from .conftest import (
    EPOCHS,
    PYTHON,
    REPO_ROOT,
    STEPS_PER_EPOCH,
    config_of,
    files_under,
    one_thread,
    run_trainer,
    subprocess_env,
    tiny_argv,
    write_images,
    write_tiny_camvid,
    write_video,
)

HEAD = "fcn-c64-b0"
TOTAL_STEPS = EPOCHS * STEPS_PER_EPOCH


def metrics_lines(run: Path) -> list[dict]:
    if not (run / "metrics.jsonl").exists():
        return []
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]


def weights(folder: Path) -> dict[str, torch.Tensor]:
    return read_safetensors(folder / "weights.safetensors")


def is_head_key(name: str) -> bool:
    return name.startswith("heads.")


def train_events(events, stage: int) -> list:
    return [e for e in events if e.stage == f"stage{stage}" and "step" in e.metrics]


def val_events(events, stage: int) -> list:
    return [e for e in events if e.stage == f"stage{stage}" and "val_miou" in e.metrics]


def no_temporary_files(folder: Path) -> bool:
    return not [p for p in files_under(folder) if p.name.endswith(".tmp")]


# --- a tiny 'all' run: its files ---------------------------------------------------------------

def test_run_folder_holds_config_metrics_checkpoints_and_models(reference_run):
    out = reference_run.out
    config = TrainConfig.load(out / "run.json")
    assert config == config_of(reference_run.argv)
    for stage in (1, 2):
        path = out / "checkpoints" / f"stage{stage}.safetensors"
        assert path.is_file()
        info = read_info(path)
        assert ({k: info[k] for k in ("stage", "epoch", "step")}
                == {"stage": stage, "epoch": EPOCHS - 1, "step": TOTAL_STEPS})
        assert info["record"]["epoch"] == EPOCHS - 1  # the epoch's metrics, for a validation a resume may redo
    assert (out / "stage1-model" / "model.json").is_file()
    assert (out / "model" / "model.json").is_file()
    assert no_temporary_files(out)


def test_metrics_has_one_line_per_epoch_per_stage(reference_run):
    lines = metrics_lines(reference_run.out)
    assert [(r["stage"], r["epoch"]) for r in lines] == [(s, e) for s in (1, 2) for e in range(EPOCHS)]
    for record in lines:
        assert math.isfinite(record["loss"]) and record["loss"] > 0
        assert isinstance(record["val_miou"], dict) and "final" in record["val_miou"]
        assert all(0.0 <= v <= 100.0 for v in record["val_miou"].values())
    assert [r["step"] for r in lines] == [STEPS_PER_EPOCH * (e + 1) for _ in (1, 2) for e in range(EPOCHS)]


def test_stage1_model_has_no_early_heads(reference_run):
    net, info = load_model(reference_run.out / "stage1-model")
    assert net.spec.exit_heads == []
    assert net.exit_ids() == ["final"]
    assert not any(is_head_key(k) for k in net.state_dict())
    assert set(info.metrics["val_miou"]) == {"final"}


def test_final_model_has_a_val_miou_for_every_early_head_and_final(reference_run):
    net, info = load_model(reference_run.out / "model")
    early = net.exit_ids()[:-1]
    # One stage-2 head at every candidate point.
    assert sorted(h.point for h in net.spec.exit_heads) == sorted(net.exit_points)
    assert all(h.head == HeadConfig.parse(HEAD) for h in net.spec.exit_heads)
    assert len(early) == len(net.exit_points) >= 2
    val = info.metrics["val_miou"]
    assert set(val) == set(early) | {"final"}
    assert all(isinstance(v, float) and 0.0 <= v <= 100.0 for v in val.values())
    assert info.metrics["val_miou"] == metrics_lines(reference_run.out)[-1]["val_miou"]


def test_stage2_froze_the_backbone_and_final_head_batchnorm_included(reference_run):
    stage1 = weights(reference_run.out / "stage1-model")
    final = weights(reference_run.out / "model")
    backbone = {k for k in final if not is_head_key(k)}
    assert backbone == set(stage1)
    assert any("running_mean" in k for k in backbone) and any("num_batches_tracked" in k for k in backbone)
    for name in sorted(backbone):
        assert torch.equal(final[name], stage1[name]), f"stage 2 changed {name}"
    # The stage-2 heads did train, in train mode (BatchNorm batches counted).
    tracked = [v for k, v in final.items() if is_head_key(k) and k.endswith("num_batches_tracked")]
    assert tracked and all(int(v) == TOTAL_STEPS for v in tracked)


# --- progress events ------------------------------------------------------------------------------

@pytest.mark.parametrize("stage", [1, 2])
def test_progress_events_carry_the_training_numbers(reference_run, stage):
    events = train_events(reference_run.events, stage)
    assert [e.metrics["step"] for e in events] == list(range(1, TOTAL_STEPS + 1))
    assert [e.metrics["epoch"] for e in events] == [s // STEPS_PER_EPOCH + 1 for s in range(TOTAL_STEPS)]
    for event in events:
        m = event.metrics
        assert m["stage"] == stage
        assert math.isfinite(m["loss"]) and m["loss"] > 0
        assert m["images_per_s"] is not None and m["images_per_s"] > 0
        assert event.total == TOTAL_STEPS and event.done == m["step"]
    # The ETA comes from timed steps only (the first step of an epoch carries the loader's start-up):
    # none until MIN_TIMED_STEPS are timed, then the steps left plus the validations still to come.
    timed = [sum(1 for s in range(1, step + 1) if (s - 1) % STEPS_PER_EPOCH) for step in range(1, TOTAL_STEPS + 1)]
    etas = [e.metrics["eta_s"] for e in events]
    assert [eta is None for eta in etas] == [t < MIN_TIMED_STEPS for t in timed]
    assert all(eta >= 0 for eta in etas if eta is not None)
    assert etas[-2] > etas[-1] >= 0, "the last step leaves the last validation"


@pytest.mark.parametrize("stage", [1, 2])
def test_a_val_miou_event_follows_every_epoch(reference_run, stage):
    events = [e for e in reference_run.events if e.stage == f"stage{stage}"]
    validated = val_events(reference_run.events, stage)
    assert [e.metrics["epoch"] for e in validated] == list(range(1, EPOCHS + 1))
    for event in validated:
        index = events.index(event)
        previous = [e for e in events[:index] if "step" in e.metrics][-1]
        assert previous.metrics["step"] == event.metrics["epoch"] * STEPS_PER_EPOCH
        assert "final" in event.metrics["val_miou"]
    records = [r for r in metrics_lines(reference_run.out) if r["stage"] == stage]
    assert [e.metrics["val_miou"] for e in validated] == [r["val_miou"] for r in records]


def test_stage1_rotates_over_every_candidate_exit(reference_run):
    points = list(load_model(reference_run.out / "model")[0].exit_points)
    chosen = [e.metrics["early_exit"] for e in train_events(reference_run.events, 1)]
    assert len(chosen) == TOTAL_STEPS >= len(points)
    assert all(c.endswith(":" + HEAD) for c in chosen)
    chosen_points = [c.split(":")[0] for c in chosen]
    assert set(chosen_points) <= set(points)
    # Every run of len(points) consecutive steps visits every candidate point once.
    for start in range(len(chosen_points) - len(points) + 1):
        assert sorted(chosen_points[start:start + len(points)]) == sorted(points)
    # Stage-1 loss = CE(final) + w * CE(the chosen early exit), w = 1 by default.
    for event in train_events(reference_run.events, 1):
        m = event.metrics
        assert m["loss"] == pytest.approx(m["loss_final"] + m["loss_early"], rel=1e-5)


# --- cancel --------------------------------------------------------------------------------------

def same_weights(folder: Path, reference: Path) -> None:
    expected, got = weights(reference), weights(folder)
    assert set(got) == set(expected)
    for name in sorted(expected):
        assert torch.equal(got[name], expected[name]), f"{name} differs from the uninterrupted run"


def same_metrics(run: Path, reference: Path, stages=(1, 2)) -> None:
    lines = metrics_lines(run)
    reference_lines = [r for r in metrics_lines(reference) if r["stage"] in stages]
    assert len(lines) == len(reference_lines)
    key = lambda r: (r["stage"], r["epoch"], r["step"], r["val_miou"])  # noqa: E731
    assert [key(r) for r in lines] == [key(r) for r in reference_lines]
    assert [r["loss"] for r in lines] == pytest.approx([r["loss"] for r in reference_lines], rel=1e-6)


def resume_in_process(out: Path) -> tuple[Path, list]:
    """`mess train --out OUT --resume`, as the command line builds it, with the events recorded."""
    args = build_parser().parse_args(["train", "--out", str(out), "--resume"])
    assert args.resume
    return run_trainer(config_from_args(args), resume=True)


@pytest.mark.parametrize("cancel_after", [2, STEPS_PER_EPOCH + 2], ids=["epoch1-step2", "epoch2-step2"])
def test_cancel_stops_before_the_next_step_and_keeps_the_last_checkpoint(reference_run, tmp_path, cancel_after):
    out = tmp_path / "run"
    config = config_of(tiny_argv(reference_run.data, out, "--stage", "1"))
    token = CancelToken()
    events = []

    def on_event(event):
        events.append(event)
        if event.metrics.get("step") == cancel_after and "loss" in event.metrics:
            token.cancel()

    with pytest.raises(Cancelled):
        run_trainer(config, cancel=token, on_event=on_event)
    steps = [e.metrics["step"] for e in events if "step" in e.metrics]
    assert steps == list(range(1, cancel_after + 1))      # no step after the cancel
    checkpoint = out / "checkpoints" / "stage1.safetensors"
    completed = cancel_after // STEPS_PER_EPOCH
    if completed == 0:
        assert not checkpoint.exists()
    else:
        info = read_info(checkpoint)
        assert {k: info[k] for k in ("stage", "epoch", "step")} == \
               {"stage": 1, "epoch": completed - 1, "step": completed * STEPS_PER_EPOCH}
        state, _ = load_checkpoint(checkpoint)
        reference = read_safetensors(reference_run.out / "checkpoints" / "stage1.safetensors")
        assert set(state) == {k[len("model/"):] for k in reference if k.startswith("model/")}
        assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())
    assert [(r["stage"], r["epoch"]) for r in metrics_lines(out)] == [(1, e) for e in range(completed)]
    assert not (out / "stage1-model").exists()
    assert no_temporary_files(out)

    # A line written after the checkpoint (a kill between the two writes) is dropped and redone.
    with open(out / "metrics.jsonl", "a") as handle:
        handle.write(json.dumps({"event": "epoch", "stage": 1, "epoch": completed, "step": -1, "loss": 1.0,
                                 "val_miou": {}}) + "\n")
    # Resuming the cancelled run continues after the checkpoint and ends where the uninterrupted run ended.
    result, resumed = resume_in_process(out)
    assert result == out / "stage1-model"
    assert [e.metrics["step"] for e in train_events(resumed, 1)] == \
           list(range(completed * STEPS_PER_EPOCH + 1, TOTAL_STEPS + 1))
    same_weights(out / "stage1-model", reference_run.out / "stage1-model")
    same_metrics(out, reference_run.out, stages=(1,))


# --- resume after SIGKILL ---------------------------------------------------------------------------

def kill_when(argv: list[str], ready: Path, timeout: float = 240.0) -> subprocess.Popen:
    """Start `python -m core.cli train argv`; SIGKILL it as soon as ``ready`` exists."""
    proc = subprocess.Popen([PYTHON, "-m", "core.cli", "train", *argv], cwd=REPO_ROOT, env=subprocess_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    try:
        while not ready.exists():
            if proc.poll() is not None:
                output = proc.stdout.read().decode(errors="replace")
                pytest.fail(f"training ended (code {proc.returncode}) before {ready.name} appeared:\n{output}")
            if time.monotonic() > deadline:
                pytest.fail(f"{ready} did not appear within {timeout:.0f} s")
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    return proc


def resume_and_compare(reference_run, out: Path, killed_stage: int) -> None:
    checkpoint_step = read_info(out / "checkpoints" / f"stage{killed_stage}.safetensors")["step"]
    assert checkpoint_step < TOTAL_STEPS, "killed too late: the stage had finished"
    result, events = resume_in_process(out)
    assert result == out / "model"
    # It continued from the checkpoint: the steps done before it are not redone.
    assert [e.metrics["step"] for e in train_events(events, killed_stage)] == \
           list(range(checkpoint_step + 1, TOTAL_STEPS + 1))
    if killed_stage == 2:
        assert not train_events(events, 1)
    same_weights(out / "model", reference_run.out / "model")
    same_weights(out / "stage1-model", reference_run.out / "stage1-model")
    same_metrics(out, reference_run.out)
    assert load_model(out / "model")[1].metrics["val_miou"] == \
           load_model(reference_run.out / "model")[1].metrics["val_miou"]


def test_resume_after_sigkill_in_stage1_gives_the_uninterrupted_weights(reference_run, tmp_path):
    out = tmp_path / "run"
    kill_when(tiny_argv(reference_run.data, out), out / "checkpoints" / "stage1.safetensors")
    assert not (out / "stage1-model" / "model.json").exists(), "killed too late: stage 1 had finished"
    resume_and_compare(reference_run, out, killed_stage=1)


def test_resume_after_sigkill_in_stage2_gives_the_uninterrupted_weights(reference_run, tmp_path):
    out = tmp_path / "run"
    kill_when(tiny_argv(reference_run.data, out), out / "checkpoints" / "stage2.safetensors")
    assert (out / "stage1-model" / "model.json").is_file()
    assert not (out / "model" / "model.json").exists(), "killed too late: stage 2 had finished"
    resume_and_compare(reference_run, out, killed_stage=2)


@pytest.mark.parametrize("stage", [1, 2])
def test_resume_after_a_kill_between_the_last_checkpoint_and_the_model(reference_run, tmp_path, stage):
    """A kill after a stage's last checkpoint but before its model folder: the model is still written."""
    out = tmp_path / "run"
    shutil.copytree(reference_run.out, out)
    shutil.rmtree(out / "model")
    if stage == 1:
        shutil.rmtree(out / "stage1-model")
        (out / "checkpoints" / "stage2.safetensors").unlink()
        lines = (out / "metrics.jsonl").read_text().splitlines()
        (out / "metrics.jsonl").write_text("".join(line + "\n" for line in lines if json.loads(line)["stage"] == 1))
    result, events = resume_in_process(out)
    assert result == out / "model"
    assert not train_events(events, 1)
    assert len(train_events(events, 2)) == (TOTAL_STEPS if stage == 1 else 0)
    same_weights(out / "stage1-model", reference_run.out / "stage1-model")
    same_weights(out / "model", reference_run.out / "model")
    same_metrics(out, reference_run.out)
    assert load_model(out / "model")[1].metrics == load_model(reference_run.out / "model")[1].metrics


def test_resume_of_a_finished_run_changes_nothing(reference_run, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(reference_run.out, out)
    before = {p.relative_to(out): p.read_bytes() for p in files_under(out) if p.is_file()}
    result, events = resume_in_process(out)
    assert result == out / "model"
    assert not [e for e in events if "step" in e.metrics]
    after = {p.relative_to(out): p.read_bytes() for p in files_under(out) if p.is_file()}
    assert after == before


# --- bad input: one line, before any file is written --------------------------------------------------

def expect_error_before_any_write(config: TrainConfig, error=MessError, resume: bool = False) -> str:
    out = Path(config.out)
    before = {p: p.stat().st_mtime_ns for p in files_under(out)}
    existed = out.exists()
    with pytest.raises(error) as caught:
        run_trainer(config, resume=resume)
    message = str(caught.value)
    assert message and "\n" not in message, message
    assert {p: p.stat().st_mtime_ns for p in files_under(out)} == before, "files were written in --out"
    assert out.exists() == existed
    return message


def test_empty_train_split(tmp_path):
    data = write_tiny_camvid(tmp_path / "data")
    for sub in ("train", "trainannot"):
        for path in (data / sub).iterdir():
            path.unlink()
    expect_error_before_any_write(config_of(tiny_argv(data, tmp_path / "out")), (DataError, ConfigError))


def test_out_holding_another_run_without_resume(reference_run, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "run.json").write_text((reference_run.out / "run.json").read_text())
    message = expect_error_before_any_write(config_of(tiny_argv(reference_run.data, out)), ConfigError)
    assert "resume" in message and str(out) in message


def test_out_not_empty_without_a_run(tiny_data, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    expect_error_before_any_write(config_of(tiny_argv(tiny_data, out)), ConfigError)


@pytest.mark.parametrize("make_folder", [False, True], ids=["missing", "empty"])
def test_resume_without_a_run(tmp_path, make_folder):
    out = tmp_path / "out"
    if make_folder:
        out.mkdir()
    expect_error_before_any_write(TrainConfig(data="", out=str(out)), ConfigError, resume=True)


def test_stage2_without_init_model(tiny_data, tmp_path):
    config = config_of(tiny_argv(tiny_data, tmp_path / "out", "--stage", "2"))
    expect_error_before_any_write(config, ConfigError)


def test_init_model_with_another_class_count(tiny_data, tmp_path):
    classes = ClassSet("three", ["a", "b", "c"], [(0, 0, 0), (1, 1, 1), (2, 2, 2)], 255)
    net = convert_backbone("mobilenet_v3_large", classes, [])
    save_model(net, tmp_path / "three-classes")
    config = config_of(tiny_argv(tiny_data, tmp_path / "out", "--stage", "2",
                                 "--init-model", str(tmp_path / "three-classes")))
    message = expect_error_before_any_write(config, DataError)
    assert "3" in message and "11" in message


@pytest.mark.parametrize("stage", ["1", "all"])
def test_unlabelled_with_stage1(tmp_path, stage):
    images = write_images(tmp_path / "images")
    config = config_of(tiny_argv(None, tmp_path / "out", "--stage", stage, "--unlabelled", str(images)))
    message = expect_error_before_any_write(config, ConfigError)
    assert "--unlabelled" in message


def test_batch_larger_than_the_training_split(tiny_data, tmp_path):
    """The 'fewer than one batch' check must come before run.json is written: otherwise --out is
    spoiled (a new run there is refused, and --resume replays the same bad batch size)."""
    config = config_of(tiny_argv(tiny_data, tmp_path / "out", "--batch-size", "8"))
    expect_error_before_any_write(config, DataError)


def test_unknown_backbone(tiny_data, tmp_path):
    config = config_of(tiny_argv(tiny_data, tmp_path / "out"))
    config = replace(config, backbone="no_such_backbone")
    expect_error_before_any_write(config, MessError)


def test_unlabelled_folder_without_images(reference_run, tmp_path):
    empty = tmp_path / "no-images"
    empty.mkdir()
    config = config_of(tiny_argv(None, tmp_path / "out", "--stage", "2", "--unlabelled", str(empty),
                                 "--init-model", str(reference_run.out / "stage1-model")))
    expect_error_before_any_write(config, DataError)


# --- label-free stage 2 --------------------------------------------------------------------------------

@pytest.fixture
def initial_heads(monkeypatch) -> list[dict[str, torch.Tensor]]:
    """Records the heads' state right after the trainer attaches them (their initialisation)."""
    recorded: list[dict[str, torch.Tensor]] = []
    original = MultiExitNet.add_heads

    def add_heads(self, head_specs):
        original(self, head_specs)
        recorded.append({k: v.detach().clone() for k, v in self.heads.state_dict().items()})

    monkeypatch.setattr(MultiExitNet, "add_heads", add_heads)
    return recorded


def check_label_free_model(reference_run, out: Path, initial: dict[str, torch.Tensor]) -> dict:
    net, info = load_model(out / "model")
    assert len(net.exit_ids()) - 1 == len(net.exit_points)
    final = weights(out / "model")
    init_model = weights(reference_run.out / "stage1-model")
    for name, tensor in init_model.items():      # the backbone and final head stay as they were
        assert torch.equal(final[name], tensor), name
    heads = {k[len("heads."):]: v for k, v in final.items() if is_head_key(k)}
    assert set(heads) == set(initial)
    trainable = [k for k, v in heads.items() if v.is_floating_point() and "running" not in k]
    assert trainable
    # Every head's weights moved away from their initialisation.
    changed = {k.split(".")[0] for k in trainable if not torch.equal(heads[k], initial[k])}
    assert changed == {k.split(".")[0] for k in heads}
    provenance = info.provenance
    assert provenance["stage"] == 2 and provenance["config"]["unlabelled"]
    return info.metrics


def test_label_free_stage2_from_an_image_folder(reference_run, tmp_path, initial_heads):
    images = write_images(tmp_path / "frames", n=4)
    out = tmp_path / "run"
    argv = tiny_argv(None, out, "--stage", "2", "--unlabelled", str(images),
                     "--init-model", str(reference_run.out / "stage1-model"), epochs=1)
    result, events = run_trainer(config_of(argv))
    assert result == out / "model"
    assert len(initial_heads) == 1
    assert len(train_events(events, 2)) == 2            # 4 images, batch 2
    metrics = check_label_free_model(reference_run, out, initial_heads[0])
    assert not metrics.get("val_miou")                # nothing to validate on


def test_label_free_stage2_from_a_video_with_validation_data(reference_run, tmp_path, initial_heads):
    video = write_video(tmp_path / "clip.mp4", frames=10)
    out = tmp_path / "run"
    argv = tiny_argv(reference_run.data, out, "--stage", "2", "--unlabelled", str(video),
                     "--init-model", str(reference_run.out / "stage1-model"), epochs=1)
    result, events = run_trainer(config_of(argv))
    assert result == out / "model"
    assert len(initial_heads) == 1
    assert len(train_events(events, 2)) == 5            # 10 frames, batch 2
    assert all(math.isfinite(e.metrics["loss"]) for e in train_events(events, 2))
    metrics = check_label_free_model(reference_run, out, initial_heads[0])
    net, _ = load_model(out / "model")
    assert set(metrics["val_miou"]) == set(net.exit_ids())
    assert [r["stage"] for r in metrics_lines(out)] == [2]


# --- the command line ---------------------------------------------------------------------------------

def test_cli_bad_stage_exits_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["train", "--out", str(tmp_path / "out"), "--stage", "3"])
    assert caught.value.code == 2
    assert "--stage" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_cli_out_holding_another_run_exits_2_with_one_line(reference_run, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "run.json").write_text((reference_run.out / "run.json").read_text())
    capsys.readouterr()
    with one_thread():
        code = main(["train", *tiny_argv(reference_run.data, out)])
    assert code == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and err[0].startswith("mess train: error:") and str(out) in err[0]
    assert sorted(p.name for p in out.iterdir()) == ["run.json"]


# --- more bad input ----------------------------------------------------------------------------------

def test_out_that_is_a_file(tiny_data, tmp_path):
    out = tmp_path / "out"
    out.write_text("not a folder\n")
    message = expect_error_before_any_write(config_of(tiny_argv(tiny_data, out)), ConfigError)
    assert str(out) in message
    assert out.read_text() == "not a folder\n"


@pytest.mark.parametrize("what", ["missing-init-model", "unknown-classes"])
def test_other_bad_values_fail_before_any_write(tiny_data, tmp_path, what):
    if what == "missing-init-model":
        argv = tiny_argv(tiny_data, tmp_path / "out", "--stage", "2", "--init-model", str(tmp_path / "nothing"))
    else:
        argv = tiny_argv(tiny_data, tmp_path / "out", "--classes", str(tmp_path / "no-such-classes.json"))
    expect_error_before_any_write(config_of(argv), MessError)


def test_resume_with_a_damaged_checkpoint_gives_a_one_line_error(reference_run, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(reference_run.out, out)
    shutil.rmtree(out / "model")
    checkpoint = out / "checkpoints" / "stage2.safetensors"
    data = checkpoint.read_bytes()
    checkpoint.write_bytes(data[: len(data) // 3])
    with pytest.raises(MessError) as caught:
        resume_in_process(out)
    assert "stage2.safetensors" in str(caught.value) and "\n" not in str(caught.value)


def test_cancel_during_validation_keeps_the_epoch_and_resume_logs_it(reference_run, tmp_path):
    out = tmp_path / "run"
    config = config_of(tiny_argv(reference_run.data, out, "--stage", "1"))
    token = CancelToken()

    def on_event(event):
        if event.stage == "exits":  # the first epoch's validation has started
            token.cancel()

    with pytest.raises(Cancelled):
        run_trainer(config, cancel=token, on_event=on_event)
    info = read_info(out / "checkpoints" / "stage1.safetensors")
    assert (info["epoch"], info["step"]) == (0, STEPS_PER_EPOCH)  # the epoch's training was kept
    assert metrics_lines(out) == []                               # its validation was not
    result, resumed = resume_in_process(out)
    assert [e.metrics["step"] for e in train_events(resumed, 1)] == list(range(STEPS_PER_EPOCH + 1, TOTAL_STEPS + 1))
    same_weights(out / "stage1-model", reference_run.out / "stage1-model")
    same_metrics(out, reference_run.out, stages=(1,))


# --- stage 1 from a trained model (fine-tuning) -------------------------------------------------

def test_stage1_with_init_model_starts_from_its_backbone_and_final_head(reference_run, tmp_path):
    """lr 0: the fine-tuned stage-1 model keeps the init model's parameters exactly (only BatchNorm
    running statistics move), which a fresh random start cannot."""
    init = reference_run.out / "model"
    config = config_of(tiny_argv(reference_run.data, tmp_path / "ft", "--stage", "1", "--epochs", "1",
                                 "--lr", "0", "--init-model", str(init)))
    run_trainer(config)
    before, after = weights(init), weights(tmp_path / "ft" / "stage1-model")
    names = [n for n in after if not is_head_key(n) and "running_" not in n and "num_batches" not in n]
    assert names and all(n in before for n in names)
    for name in names:
        assert torch.equal(after[name], before[name]), name


def test_stage1_with_an_init_model_of_another_backbone(reference_run, tmp_path):
    config = config_of(tiny_argv(reference_run.data, tmp_path / "out", "--stage", "1",
                                 "--init-model", str(reference_run.out / "model")))
    config = replace(config, backbone="mobilenet_v2")
    message = expect_error_before_any_write(config, ConfigError)
    assert "mobilenet_v3_large" in message and "mobilenet_v2" in message

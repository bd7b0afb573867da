"""Training recipes: several runs chained into one `mess train --recipe` command, resumable."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from core.cli.main import main
from core.errors import ConfigError
from core.jobs import CancelToken, Cancelled, run_job
from core.models import load_model
from core.train.recipe import RECIPE_JSON, Recipe, phase_folder, run_recipe
from tests.train.conftest import files_under, one_thread

TINY = {"backbone": "mobilenet_v3_large", "batch_size": 2, "crop": [32, 48], "stage2_heads": "fcn-c64-b0",
        "device": "cpu"}
# Low resolution first, then a fine-tuning phase with weight averaging, then the exits.
PHASES = [
    {**TINY, "stage": "1", "epochs_stage1": 1, "train_size": [24, 32], "crop": [24, 32], "lr": 0.05},
    {**TINY, "stage": "1", "epochs_stage1": 2, "lr": 0.01, "swa_epochs": 2, "swa_lr": 0.005},
    {**TINY, "stage": "2", "epochs_stage2": 1},
]


def write_recipe(path: Path, phases: list[dict] = PHASES, version: int = 1) -> Path:
    path.write_text(json.dumps({"format_version": version, "phases": phases}))
    return path


def run_in_process(recipe: Recipe, data: Path, out: Path, resume: bool = False, cancel=None, events=None):
    with one_thread():
        return run_job(run_recipe(recipe, str(data), out, resume, cancel=cancel),
                       (events.append if events is not None else None))


@pytest.fixture(scope="module")
def recipe_run(tiny_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("recipe") / "run"
    events: list = []
    model = run_in_process(Recipe.from_json({"format_version": 1, "phases": PHASES}), tiny_data, out, events=events)
    return out, Path(model), events


def test_each_phase_starts_from_the_previous_phases_model(recipe_run):
    out, model, _ = recipe_run
    configs = [json.loads((phase_folder(out, k) / "run.json").read_text()) for k in (1, 2, 3)]
    assert configs[0]["init_model"] is None
    assert configs[1]["init_model"] == str(phase_folder(out, 1) / "stage1-model")
    assert configs[2]["init_model"] == str(phase_folder(out, 2) / "stage1-model")
    assert configs[0]["train_size"] == [24, 32] and configs[1]["swa_epochs"] == 2 and configs[2]["stage"] == "2"
    assert json.loads((out / RECIPE_JSON).read_text())["phases"] == PHASES


def test_the_last_phases_model_is_out_model(recipe_run):
    out, model, _ = recipe_run
    assert model == out / "model"
    assert (model / "weights.safetensors").read_bytes() == \
        (phase_folder(out, 3) / "model" / "weights.safetensors").read_bytes()
    net, info = load_model(model)
    assert len(net.exit_ids()) > 1 and info.metrics["val_miou"]
    stage1, _ = load_model(phase_folder(out, 2) / "stage1-model")
    for mine, theirs in zip(net.segments.state_dict().values(), stage1.segments.state_dict().values()):
        assert torch.equal(mine, theirs), "stage 2 kept the backbone of phase 2"


def test_phases_are_announced(recipe_run):
    _, _, events = recipe_run
    phases = [e for e in events if e.stage == "phase"]
    assert [(e.done, e.total) for e in phases] == [(1, 3), (2, 3), (3, 3)]
    assert "phase 2/3 (stage 1)" in phases[1].message


def test_resume_skips_finished_phases_and_ends_with_the_same_model(recipe_run, tiny_data, tmp_path):
    out, model, _ = recipe_run
    cancel = CancelToken()
    phase = [0]

    def cancel_in_phase_two(event) -> None:          # at phase 2's 4th step: its epoch 1 is checkpointed
        if event.stage == "phase":
            phase[0] = event.done
        elif phase[0] == 2 and event.metrics.get("step") == 4 and "loss" in event.metrics:
            cancel.cancel()

    interrupted = tmp_path / "run"
    with pytest.raises(Cancelled):
        with one_thread():
            run_job(run_recipe(Recipe.load(write_recipe(tmp_path / "r.json")), str(tiny_data), interrupted,
                               cancel=cancel), cancel_in_phase_two)
    assert (phase_folder(interrupted, 1) / "stage1-model" / "model.json").is_file()
    assert (phase_folder(interrupted, 2) / "checkpoints" / "stage1.safetensors").is_file()
    assert not (interrupted / "model").exists()
    phase1 = {p: p.stat().st_mtime_ns for p in files_under(phase_folder(interrupted, 1))}

    events: list = []
    result = run_in_process(Recipe.load(write_recipe(tmp_path / "other.json", PHASES[:1])), tiny_data, interrupted,
                            resume=True, events=events)          # the stored recipe wins over the file given
    assert "finished before" in [e for e in events if e.stage == "phase"][0].message
    assert {p: p.stat().st_mtime_ns for p in files_under(phase_folder(interrupted, 1))} == phase1
    resumed, expected = load_file(Path(result) / "weights.safetensors"), load_file(model / "weights.safetensors")
    assert resumed.keys() == expected.keys()
    assert all(torch.equal(resumed[k], expected[k]) for k in expected), "the uninterrupted recipe's weights"


def test_cli_runs_a_recipe(tiny_data, tmp_path, capsys):
    recipe = write_recipe(tmp_path / "recipe.json", [PHASES[0]])
    out = tmp_path / "run"
    with one_thread():
        code = main(["train", "--recipe", str(recipe), "--data", str(tiny_data), "--out", str(out), "--quiet"])
    assert code == 0
    assert capsys.readouterr().out.strip() == f"trained model: {out / 'model'}"
    assert (out / "model" / "model.json").is_file()


@pytest.mark.parametrize("extra, expected", [
    (["--epochs", "3"], "--epochs"),
    (["--lr", "0.1", "--crop", "32x32"], "--crop, --lr"),
])
def test_cli_refuses_training_options_beside_a_recipe(tiny_data, tmp_path, capsys, extra, expected):
    recipe = write_recipe(tmp_path / "recipe.json")
    out = tmp_path / "run"
    code = main(["train", "--recipe", str(recipe), "--data", str(tiny_data), "--out", str(out), *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and expected in err[0]
    assert not out.exists()


@pytest.mark.parametrize("content, expected", [
    ("{not json", "not valid JSON"),
    (json.dumps({"format_version": 2, "phases": [{}]}), "format version 2"),
    (json.dumps({"format_version": 1, "phases": []}), "non-empty list"),
    (json.dumps({"format_version": 1, "phases": [{"epochs": 3}]}), "phase 1 has unknown or reserved setting(s) epochs"),
    (json.dumps({"format_version": 1, "phases": [{"stage": "1"}, {"out": "x"}]}), "phase 2 has unknown"),
    (json.dumps({"format_version": 1, "phases": [{"stage": "3"}]}), "phase 1: --stage 3"),
    (json.dumps({"format_version": 1, "common": {"lr": 0.1, "speed": 2}, "phases": [{}]}), "common has unknown"),
    (json.dumps({"format_version": 1, "phases": [{}], "phase": []}), "unknown key(s) phase"),
    (json.dumps({"format_version": 1, "phases": [{"stage": "2"}]}), "phase 1 trains stage 2 only"),
    (json.dumps({"format_version": 1, "phases": [{"stage": "1"}, {"stage": "2"}, {"stage": "2"}]}),
     "phase 3 trains stage 2 after a stage-2 phase"),
    (json.dumps({"format_version": 1, "phases": [{"stage": "1"}, {"stage": "1", "backbone": "resnet18"}]}),
     "phase 2 trains backbone resnet18"),
    (json.dumps({"format_version": 1, "phases": [{"stage": "all", "unlabelled": "clip.mp4"}]}),
     "phase 1: unlabelled footage trains stage 2 only"),
    (json.dumps({"format_version": 1, "phases": [{"epochs_stage1": "x"}]}), 'phase 1: epochs_stage1 must be a whole'),
    (json.dumps({"format_version": 1, "phases": [{"epochs_stage1": 2.7}]}), "epochs_stage1 must be a whole number"),
    (json.dumps({"format_version": 1, "common": {"lr": "0.01"}, "phases": [{}]}), 'common: lr must be a number'),
    (json.dumps({"format_version": 1, "phases": [{"crop": [32]}]}), "crop must be a list of two numbers"),
    (json.dumps({"format_version": 1, "phases": [{"stage": 1}]}), "stage must be a string"),
    (json.dumps({"format_version": 1, "phases": [{"amp": "no"}]}), "amp must be true or false"),
    (json.dumps({"format_version": 1, "phases": [{"epochs_stage1": 0}]}), "phase 1: epochs_stage1 must be"),
])
def test_a_bad_recipe_is_one_line_and_nothing_is_written(tiny_data, tmp_path, capsys, content, expected):
    recipe = tmp_path / "recipe.json"
    recipe.write_text(content)
    out = tmp_path / "run"
    code = main(["train", "--recipe", str(recipe), "--data", str(tiny_data), "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and expected in err[0] and str(recipe) in err[0], err
    assert not out.exists()


def test_common_settings_go_to_every_phase_and_a_phase_overrides_them(tmp_path):
    recipe = Recipe.from_json({"format_version": 1, "common": {"lr": 0.02, "crop": [32, 48]},
                               "phases": [{"stage": "1"}, {"stage": "2", "lr": 0.3}]})
    first, second = recipe.configs("data", tmp_path)
    assert (first.lr, first.crop, second.lr, second.crop) == (0.02, (32, 48), 0.3, (32, 48))


def test_missing_recipe_file_names_it(tiny_data, tmp_path):
    with pytest.raises(ConfigError, match="nothing.json"):
        Recipe.load(tmp_path / "nothing.json")


def test_out_holding_another_recipe_run_needs_resume(recipe_run, tiny_data):
    out, _, _ = recipe_run
    with pytest.raises(ConfigError, match="--resume"):
        run_in_process(Recipe.from_json({"format_version": 1, "phases": PHASES}), tiny_data, out)


def test_input_refused_by_phase_1_leaves_out_as_it_was(tmp_path, capsys):
    """A bad --data is found when phase 1 starts: recipe.json goes again, and a plain retry works."""
    recipe = write_recipe(tmp_path / "recipe.json", [PHASES[0]])
    out = tmp_path / "run"
    code = main(["train", "--recipe", str(recipe), "--data", str(tmp_path / "no-data"), "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err[-1].startswith("mess train: error: phase 1:") and "no-data" in err[-1], err
    assert sum("error" in line for line in err) == 1
    assert not out.exists()
    out.mkdir()                                       # an --out that existed (empty) stays, empty
    assert main(["train", "--recipe", str(recipe), "--data", str(tmp_path / "no-data"), "--out", str(out)]) == 2
    assert out.is_dir() and not any(out.iterdir())


def test_resume_starts_afresh_a_phase_folder_that_never_got_its_run_json(recipe_run, tiny_data, tmp_path):
    out, model, _ = recipe_run
    copy = tmp_path / "run"
    shutil.copytree(out, copy)
    shutil.rmtree(copy / "model")
    shutil.rmtree(phase_folder(copy, 3))
    (phase_folder(copy, 3) / "checkpoints").mkdir(parents=True)   # killed between mkdir and run.json
    result = run_in_process(Recipe.from_json({"format_version": 1, "phases": PHASES}), tiny_data, copy, resume=True)
    resumed, expected = load_file(Path(result) / "weights.safetensors"), load_file(model / "weights.safetensors")
    assert all(torch.equal(resumed[k], expected[k]) for k in expected)


def test_cli_device_applies_only_when_given(tiny_data, tmp_path):
    recipe = write_recipe(tmp_path / "recipe.json", [{**PHASES[0], "device": "cpu", "workers": 0}])
    with one_thread():
        assert main(["train", "--recipe", str(recipe), "--data", str(tiny_data), "--out", str(tmp_path / "a"),
                     "--quiet"]) == 0
    assert json.loads((phase_folder(tmp_path / "a", 1) / "run.json").read_text())["device"] == "cpu"
    recipe = write_recipe(tmp_path / "recipe.json", [{**PHASES[0], "device": "auto"}])
    with one_thread():
        assert main(["train", "--recipe", str(recipe), "--data", str(tiny_data), "--out", str(tmp_path / "b"),
                     "--device", "cpu", "--quiet"]) == 0
    assert json.loads((phase_folder(tmp_path / "b", 1) / "run.json").read_text())["device"] == "cpu"


def test_resume_with_another_recipe_file_says_the_stored_one_is_used(recipe_run, tiny_data, tmp_path, capsys):
    out, _, _ = recipe_run
    copy = tmp_path / "run"
    shutil.copytree(out, copy)
    other = write_recipe(tmp_path / "other.json", PHASES[:1])
    with one_thread():
        assert main(["train", "--recipe", str(other), "--data", str(tiny_data), "--out", str(copy), "--resume",
                     "--quiet"]) == 0
    assert f"resuming with the run's own {copy / RECIPE_JSON}" in capsys.readouterr().err

"""The bundled default model: present, loadable, multi-exit, trained, and the default of every command."""

from __future__ import annotations

import json

from core.cli.common import BUNDLED_MODEL, resolve_model
from core.cli.main import main
from core.models import load_model


def test_bundled_model_is_the_default_and_loads():
    assert resolve_model(None) == BUNDLED_MODEL
    net, info = load_model(BUNDLED_MODEL)
    assert info.provenance["trained"] is True
    assert (BUNDLED_MODEL / "weights.safetensors").stat().st_size < 30 * 2**20
    assert (BUNDLED_MODEL / "MODEL_CARD.md").is_file()


def test_bundled_model_has_several_trained_heads_at_four_or_more_points():
    net, info = load_model(BUNDLED_MODEL)
    early = net.exit_ids()[:-1]
    points = {e.split(":", 1)[0] for e in early}
    assert len(points) >= 4
    assert all(sum(e.startswith(p + ":") for e in early) >= 2 for p in points)
    val = info.metrics["val_miou"]
    assert set(val) == set(net.exit_ids())  # a validation mIoU for every head and the final exit


def test_default_model_segments_camvid(camvid_root, tmp_path):
    report = tmp_path / "eval.json"
    assert main(["eval", "--data", str(camvid_root), "--limit", "4", "--json", str(report), "--quiet"]) == 0
    final = json.loads(report.read_text())["final"]
    assert final["pixel_accuracy"] > 60.0  # an untrained network gets about 10 %


def test_bundled_recipe_ends_with_the_run_that_made_the_bundled_model():
    """recipe.json beside the model reproduces it: its last phase has the settings the model records."""
    from core.train.recipe import Recipe

    recipe = Recipe.load(BUNDLED_MODEL / "recipe.json")
    _, info = load_model(BUNDLED_MODEL)
    made_by = info.provenance["config"]
    last = recipe.configs(made_by["data"], "out")[-1].to_json()
    settings = ("backbone", "stage", "epochs_stage2", "lr_stage2", "stage2_heads", "train_size", "crop", "batch_size",
                "eval_size", "distill_alpha", "distill_temperature", "seed", "train_split", "augment")
    assert {k: last[k] for k in settings} == {k: made_by[k] if not isinstance(made_by[k], list) else tuple(made_by[k])
                                              for k in settings}
    # It started from the stage-1 model of phase 4: a recipe run's own, or (how the bundled model was made, in
    # several sessions) the float16 copy of it committed after phase 4, in git history; MODEL_CARD.md says so.
    assert made_by["init_model"].endswith("stage1-model") \
        or made_by["init_model"] == "assets/models/next-train-val-strong/phase-4"
    # ...and that backbone was trained with the recipe's phase 4 (weight averaging), as provenance["stage1"] records.
    backbone = info.provenance["stage1"]["config"]
    before = recipe.configs(made_by["data"], "out")[-2].to_json()
    settings = ("backbone", "stage", "epochs_stage1", "lr", "swa_epochs", "swa_lr", "train_size", "crop", "batch_size",
                "train_split", "augment", "seed")
    assert {k: before[k] for k in settings} == {k: tuple(backbone[k]) if isinstance(backbone[k], list) else backbone[k]
                                                for k in settings}

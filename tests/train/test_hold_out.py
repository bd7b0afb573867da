"""Leave-one-sequence-out training: `mess train --hold-out SEQ` trains without SEQ and validates on it."""

from __future__ import annotations

import json

import pytest

from core.cli.main import main
from core.data.sequences import sequence_counts
from core.errors import ConfigError, DataError
from core.train.config import TrainConfig
from core.train.data import labelled_training_set, validation_set
from tests.train.conftest import config_of, run_trainer, tiny_argv, write_split


@pytest.fixture(scope="module")
def two_drives(tmp_path_factory):
    """train: drive AAAA 6 frames and BBBB 4; val: BBBB 2 (as CamVid's val is frames of a train drive)."""
    root = tmp_path_factory.mktemp("drives") / "cv"
    write_split(root, "train", 6, seed=1, sequence="AAAA")
    write_split(root, "train", 4, seed=3, sequence="BBBB")
    write_split(root, "val", 2, seed=2, sequence="BBBB")
    return root


def test_held_out_frames_leave_training_and_are_all_validated_on(two_drives):
    config = TrainConfig(data=str(two_drives), out="x", hold_out="BBBB")
    assert sequence_counts(labelled_training_set(config).samples) == {"AAAA": 6}
    assert sequence_counts(validation_set(config, (0.5,) * 3, (0.5,) * 3).samples) == {"BBBB": 4 + 2}
    assert config.validation_split == "held-out BBBB (train+val)"
    pooled = TrainConfig(data=str(two_drives), out="x", train_split="train+val", hold_out="BBBB")
    assert pooled.validation_split == "held-out BBBB (train+val)"
    assert sequence_counts(labelled_training_set(pooled).samples) == {"AAAA": 6}
    plain = TrainConfig(data=str(two_drives), out="x")
    assert sequence_counts(labelled_training_set(plain).samples) == {"AAAA": 6, "BBBB": 4}
    assert sequence_counts(validation_set(plain, (0.5,) * 3, (0.5,) * 3).samples) == {"BBBB": 2}


def test_hold_out_setting_is_checked():
    with pytest.raises(ConfigError, match="hold_out"):
        TrainConfig(data="d", out="o", hold_out="AAAA,,BBBB")
    assert TrainConfig(data="d", out="o", hold_out=" AAAA ,BBBB").held_out == ("AAAA", "BBBB")


def test_a_fold_trains_and_reports_validation_on_the_held_out_sequence(two_drives, tmp_path):
    out = tmp_path / "fold"
    config = config_of(tiny_argv(two_drives, out, "--hold-out", "BBBB", "--stage", "1", epochs=1))
    assert config.hold_out == "BBBB"
    result, events = run_trainer(config)
    validated = [e for e in events if "val_miou" in e.metrics]
    assert validated and all(e.metrics["split"] == "held-out BBBB (train+val)" for e in validated)
    weights = json.loads((out / "class_weights.json").read_text())
    from core.data import open_dataset
    from core.train.data import label_counts

    only_a = label_counts(open_dataset(two_drives, "train", sequences=("AAAA",)))
    assert weights["pixel_counts"] == only_a.tolist()     # class weights from the training frames alone
    stored = json.loads((result / "model.json").read_text())
    assert stored["metrics"]["split"] == "held-out BBBB (train+val)"


def test_holding_out_an_absent_sequence_is_one_line_before_any_work(two_drives, tmp_path, capsys):
    out = tmp_path / "bad"
    code = main(["train", *tiny_argv(two_drives, out, "--hold-out", "CCCC", epochs=1)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "has no frame of sequence 'CCCC' (sequences: AAAA 6, BBBB 4)" in err
    assert not out.exists()


def test_holding_out_every_sequence_leaves_nothing_to_train_on(two_drives, tmp_path):
    with pytest.raises(DataError, match="no frame left"):
        labelled_training_set(TrainConfig(data=str(two_drives), out=str(tmp_path / "o"), hold_out="AAAA,BBBB"))


def test_a_recipe_runs_as_a_fold_with_hold_out(two_drives, tmp_path, capsys):
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps({"format_version": 1, "common": {
        "backbone": "mobilenet_v3_large", "batch_size": 2, "crop": [32, 48], "stage2_heads": "fcn-c64-b0",
        "train_split": "train+val"}, "phases": [{"stage": "1", "epochs_stage1": 1}]}))
    out = tmp_path / "fold"
    from tests.train.conftest import one_thread

    with one_thread():
        code = main(["train", "--recipe", str(recipe), "--data", str(two_drives), "--out", str(out),
                     "--hold-out", "BBBB", "--device", "cpu", "--quiet"])
    assert code == 0, capsys.readouterr().err
    stored = json.loads((out / "phase-1" / "run.json").read_text())
    assert stored["hold_out"] == "BBBB" and stored["train_split"] == "train+val"

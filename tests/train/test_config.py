"""core.train.config: every training setting declared once (type, default, Option), read back as versioned JSON."""

from __future__ import annotations

import argparse
import json
from dataclasses import fields

import pytest

from core.cli.commands.train import config_from_args, configure
from core.errors import ConfigError
from core.train.config import TrainConfig, flag_of, option, options

RUN_OPTIONS = {"help", "resume", "override", "threads", "quiet", "recipe"}     # how to run, not what to train


def parser() -> argparse.ArgumentParser:
    built = argparse.ArgumentParser(prog="mess train")
    configure(built)
    return built


def test_every_setting_has_an_option_and_every_option_a_setting():
    """A field added without an Option (or a flag added by hand) fails here."""
    declared = {name for name, _ in options()}
    assert declared == {f.name for f in fields(TrainConfig)} - {"format_version"}
    expected = set()
    for name, spec in options():
        expected |= {e.flag for e in spec.entries} if spec.entries else {flag_of(name)}
    flags = {flag for action in parser()._actions for flag in action.option_strings if flag.startswith("--")}
    assert flags - {f"--{name}" for name in RUN_OPTIONS} == expected
    for action in parser()._actions:
        assert action.help, f"{action.option_strings} has no help"


def test_the_existing_flags_keep_their_names_and_meaning():
    args = parser().parse_args(["--data", "d", "--out", "o", "--split", "train+val", "--epochs", "5",
                                "--crop", "64x96", "--scale", "0.75,1.5", "--no-amp", "--output-stride", "16",
                                "--stage", "1", "--weight-decay", "0.001", "--val-limit", "3"])
    config = config_from_args(args)
    assert (config.train_split, config.epochs_stage1, config.epochs_stage2) == ("train+val", 5, 5)
    assert config.crop == (64, 96) and config.scale == (0.75, 1.5) and config.amp is False
    assert config.backbone_options == {"output_stride": 16} and config.weight_decay == 0.001
    assert config.val_limit == 3 and config.stage == "1"
    bare = config_from_args(parser().parse_args(["--out", "o"]))
    assert bare == TrainConfig(data="", out="o"), "no option given: the dataclass defaults"
    assert config_from_args(parser().parse_args(["--out", "o", "--stage2-epochs", "2"])).epochs_stage1 == 100


def test_ranges_are_the_options_and_are_checked_in_one_line():
    assert option("batch_size").minimum == 1
    with pytest.raises(ConfigError, match=r"^batch_size must be between 1 and 4096, got 0$"):
        TrainConfig(data="d", out="o", batch_size=0)
    with pytest.raises(ConfigError, match=r"^momentum must be between 0 and 1, got 1.5$"):
        TrainConfig(data="d", out="o", momentum=1.5)


def test_a_run_json_with_an_unknown_key_is_refused_naming_the_file_and_the_key(tmp_path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps({**TrainConfig(data="d", out="o").to_json(), "bach_size": 4}))
    with pytest.raises(ConfigError) as caught:
        TrainConfig.load(path)
    message = str(caught.value)
    assert str(path) in message and "bach_size" in message and "\n" not in message


def test_a_config_is_frozen_and_survives_json():
    config = TrainConfig(data="d", out="o", crop=[32, 48])
    assert config.crop == (32, 48)
    with pytest.raises(AttributeError):
        config.batch_size = 2
    assert TrainConfig.from_json(json.loads(json.dumps(config.to_json()))) == config


@pytest.mark.parametrize("name,value", [("loss", "focal"), ("augment", "heavy"), ("layout", "kitti"),
                                        ("device", "tpu")])
def test_a_name_outside_a_settings_choices_is_refused_in_one_line(name, value):
    # A run.json or recipe once carried an unknown loss into the run, to fail only when the loss was built.
    with pytest.raises(ConfigError, match=rf"^{name} '{value}': choose [a-z_]+(, [a-z_]+)+$"):
        TrainConfig(data="d", out="o", **{name: value})


def test_the_train_forms_fields_are_settings_declared_once():
    """FORM_SECTIONS names settings (each once, basic first) whose shown choices are exactly their choices."""
    from core.train.config import FORM_SECTIONS, form_fields

    names = [item.name for _, item in form_fields()]
    assert len(names) == len(set(names)) and set(names) <= {name for name, _ in options()}
    assert [section for section, _ in FORM_SECTIONS] == ["basic", "advanced"]
    for _, item in form_fields():
        assert item.path in (None, "folder", "file"), item.name
        if item.choice_labels:
            assert sorted(choice for choice, _ in item.choice_labels) == sorted(option(item.name).choice_list())
    assert form_fields()[4][1].text == "Epochs, stage 1" and form_fields()[6][1].text == "Batch size"

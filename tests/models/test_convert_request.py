"""A conversion asked for in words, as the Model page's Convert form sends it (core.models.convert_request)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError, DataError
from core.models.convert_request import ConvertRequest, parse_input_size
from core.models.io import read_model_json


def test_input_sizes_read_height_by_width():
    assert parse_input_size(" 240x320 ") == (240, 320) and parse_input_size("  ") is None
    with pytest.raises(ConfigError, match="input size: 'big' is not a size HxW"):
        parse_input_size("big")


def request(out, **changes) -> ConvertRequest:
    return ConvertRequest(**{**dict(backbone="mobilenet_v3_large", out=str(out), classes="camvid", heads="light",
                                    input_size="48x64"), **changes})


def test_the_first_field_at_fault_is_named(tmp_path):
    with pytest.raises(ConfigError, match="choose the output model folder first"):
        request("", input_size="big").check()
    with pytest.raises(ConfigError, match="input size"):
        request(tmp_path / "new", input_size="big", classes="").check()
    with pytest.raises(ConfigError, match="choose a classes.json file"):
        request(tmp_path / "new", classes="").check()
    with pytest.raises(DataError):
        request(tmp_path / "new", classes=str(tmp_path / "missing.json")).check()
    with pytest.raises(ConfigError, match="nonsense"):
        request(tmp_path / "new", heads="nonsense").check()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "model.json").write_text("{}")
    with pytest.raises(ConfigError, match="not empty"):
        request(tmp_path / "full").check()
    with pytest.raises(ConfigError, match="w.safetensors: weights file not found"):
        request(tmp_path / "full", replace=True, weights=" w.safetensors ").check()


def test_a_checked_conversion_resolves_everything_and_writes_the_folder(tmp_path):
    conversion = request(tmp_path / "m", heads=" fcn-c64-b0 ", weights="  ").check()
    assert conversion.input_size == (48, 64) and conversion.weights is None and not conversion.replace
    assert conversion.class_set.name == "camvid" and [h.key() for h in conversion.heads] == ["fcn-c64-b0"]
    assert conversion.run() == str(tmp_path / "m")
    spec, info = read_model_json(Path(conversion.out))
    assert spec.backbone == "mobilenet_v3_large" and spec.input_size == (48, 64)
    assert {e.split(":")[1] for e in spec.exit_ids() if e != "final"} == {"fcn-c64-b0"}
    assert info.provenance["created_by"] == "mess convert"

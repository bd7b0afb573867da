"""Hostile JSON: deep, huge, wrong types, NaN. Every JSON file a user gives is read through
core.jsonio.read_json and refused in one line naming the file, never a RecursionError, a MemoryError or
a traceback; through the CLI that is exit 2. (The exit-configuration cases were in
tests/runtime/test_policy.py, the model.json one in tests/models/test_io.py.)"""

from __future__ import annotations

import shutil

import pytest

from core.errors import ConfigError, ModelFormatError
from core.jsonio import MAX_DEPTH, read_json
from core.models import load_model
from core.models.io import MODEL_JSON
from core.runtime.config import ExitConfig
from tests.faults.conftest import one_line

DEEP = "[" * 100000 + "]" * 100000


@pytest.mark.parametrize("text,message", [
    ('{"format_version": 1, "exits": ["final"], "policy": {"edge_dilation": 2.5}}',
     "policy edge_dilation must be a whole number 0..32, got 2.5"),
    ('{"format_version": 1, "exits": ["final"], "policy": {"edge_dilation": 100000}}',
     "policy edge_dilation must be a whole number 0..32, got 100000"),
    ('{"format_version": 1, "exits": ["final"], "th_pix": [NaN]}', "NaN is not a number"),
    ('{"format_version": 1, "exits": ["final"], "th_img": [Infinity]}', "Infinity is not a number"),
    ('{"format_version": 1, "exits": ["final"], "policy": [1, 2]}', "'policy' must be an object"),
    ('{"format_version": 1, "exits": "final"}', "'exits' must be a list of exit names"),
    ('{"format_version": 1, "exits": ["final"], "th_pix": ["0.9"]}', "'th_pix' must be a list of numbers"),
    ('{"format_version": 1, "exits": ["final"], "th_pix": [1.5]}', "th_pix value 1.5 is outside 0..1"),
    ('{"format_version": 1, "exits": ["final"], "policy": {"scale": true}}', "policy scale must be a number"),
    ('{"format_version": 1, "exits": ["final"], "policy": {"smoothing": 1}}', "unknown policy setting 'smoothing'"),
    ('{"format_version": 1, "exits": ["final"], "x": ' + "[" * 100000 + "]" * 100000 + "}",
     "nested more than 64 levels deep"),
    ("[1, 2", "not valid JSON"),
])
def test_hostile_configuration_files_are_refused_in_one_line_naming_the_file(tmp_path, text, message):
    path = tmp_path / "hostile.json"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        ExitConfig.load(path)
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value) and "\n" not in str(err.value)


def test_a_huge_configuration_file_is_refused_unread(tmp_path):
    path = tmp_path / "huge.json"
    path.write_bytes(b" " * (2 << 20))
    with pytest.raises(ConfigError, match="bytes, larger than the 1,048,576 allowed"):
        ExitConfig.load(path)


@pytest.mark.parametrize("raw,message", [
    (b'{"a": ' + b'{"b": ' * 100000 + b"1" + b"}" * 100001, "nested more than 64 levels deep"),
    (("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)).encode(), "nested more than 64 levels deep"),
    (b'{"x": NaN}', "NaN is not a number"),
    (b'{"x": -Infinity}', "-Infinity is not a number"),
    (b'{"x": 1e999}', None),                        # Python reads it as inf: refused by the consumer, not here
    (b"\xff\xfe{}", "not UTF-8 text (byte 0)"),
    (b"", "not valid JSON"),
    (b'{"a": 1,}', "not valid JSON"),
])
def test_read_json_refuses_hostile_text_in_one_line_naming_the_file(tmp_path, raw, message):
    path = tmp_path / "hostile.json"
    path.write_bytes(raw)
    if message is None:
        read_json(path)
        return
    with pytest.raises(ConfigError) as err:
        read_json(path)
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value) and "\n" not in str(err.value)


def test_read_json_refuses_a_folder_and_a_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="is not a file"):
        read_json(tmp_path)
    with pytest.raises(ConfigError, match="not found"):
        read_json(tmp_path / "absent.json")


def test_a_hostile_model_json_is_one_line(model_dir, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(model_dir, folder)
    path = folder / MODEL_JSON
    path.write_text('{"format_version": 1, "spec": ' + DEEP + "}")
    with pytest.raises(ModelFormatError) as err:
        load_model(folder)
    assert "nested more than 64 levels deep" in str(err.value) and str(path) in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("text", ['{"format_version": 1, "exits": ["final"], "th_pix": [NaN]}',
                                  '{"format_version": 1, "exits": "final"}',
                                  '{"format_version": 1, "exits": ["final"], "x": ' + DEEP + "}",
                                  '{"format_version": 1, "exits": ["final"], "th_img": [1e308, 1e308]}'])
def test_mess_run_with_a_hostile_config_is_one_line_and_exit_2(model_dir, tmp_path, capsys, text):
    from core.cli.main import main

    config = tmp_path / "hostile.json"
    config.write_text(text)
    capsys.readouterr()
    code = main(["run", "--model", str(model_dir), "--config", str(config), "--source", str(tmp_path / "absent.mp4"),
                 "--backend", "torch", "--quiet"])
    line = one_line(capsys.readouterr().err)
    assert code == 2 and line.startswith(f"mess run: error: {config}: "), line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hostile.json"]

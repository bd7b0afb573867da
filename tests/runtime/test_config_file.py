"""A configuration file records its model and weights' SHA-256; loading it checks them (version 1 still loads)."""

from __future__ import annotations

import json

import pytest

from core.cli.common import BUNDLED_MODEL
from core.cli.main import main
from core.errors import ConfigError
from core.jsonio import write_json_atomic
from core.models.io import load_model
from core.runtime.config import CONFIG_FORMAT_VERSION, ExitConfig
from core.runtime.config_file import ConfigFile, ConfigOrigin

SHA_A = "a1" * 32
SHA_B = "b2" * 32
CONFIG = ExitConfig(["layer2:fcn-c64-b0", "final"], [0.8, 0.9], [0.7, 0.0])


def write(path, config: ExitConfig = CONFIG, origin: ConfigOrigin | None = None, version: int | None = None):
    document = {**config.to_json(), **(origin.to_json() if origin else {})}
    if version is not None:
        document["format_version"] = version
    write_json_atomic(path, document)
    return path


def test_the_origin_is_written_and_read_back_at_format_version_2(tmp_path):
    origin = ConfigOrigin("models/camvid", SHA_A)
    path = write(tmp_path / "c.json", origin=origin)
    assert json.loads(path.read_text())["format_version"] == CONFIG_FORMAT_VERSION == 2
    loaded = ConfigFile.load(path)
    assert loaded.config == CONFIG and loaded.origin == origin and loaded.path == str(path)
    notes: list[str] = []
    assert loaded.checked(SHA_A, CONFIG.exits, notes.append) == CONFIG and notes == []


def test_a_file_made_for_other_weights_is_refused_in_one_line_with_both_prefixes(tmp_path):
    path = write(tmp_path / "other.json", origin=ConfigOrigin("models/cityscapes", SHA_A))
    with pytest.raises(ConfigError) as err:
        ConfigFile.load(path).check(SHA_B)
    message = str(err.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    assert SHA_A[:12] in message and SHA_B[:12] in message and "models/cityscapes" in message


def test_an_old_file_without_an_origin_loads_with_a_note(tmp_path):
    path = write(tmp_path / "old.json", version=1)
    loaded = ConfigFile.load(path)
    assert loaded.origin is None and loaded.config == CONFIG
    notes: list[str] = []
    assert loaded.checked(SHA_B, note=notes.append) == CONFIG
    assert len(notes) == 1 and str(path) in notes[0] and "not checked" in notes[0] and "\n" not in notes[0]


def test_an_exit_the_model_lacks_is_refused_before_the_weights_note(tmp_path):
    path = write(tmp_path / "old.json", version=1)
    with pytest.raises(ConfigError, match="layer2:fcn-c64-b0, which the open model does not have"):
        ConfigFile.load(path).check(SHA_B, ["final"])


@pytest.mark.parametrize("extra,message", [
    ({"weights_sha256": "abc", "model": "m"}, "64 lower-case hex digits"),
    ({"weights_sha256": SHA_A}, "'model' and 'weights_sha256' come together"),
    ({"model": 3, "weights_sha256": SHA_A}, "both strings"),
    ({"format_version": 3}, "unknown exit-config format version 3 (expected 1 or 2)"),
    ({"format_version": True}, "unknown exit-config format version True"),
])
def test_a_malformed_origin_or_version_is_refused(tmp_path, extra, message):
    path = tmp_path / "bad.json"
    write_json_atomic(path, {**CONFIG.to_json(), **extra})
    with pytest.raises(ConfigError) as err:
        ConfigFile.load(path)
    assert message in str(err.value) and str(err.value).startswith(f"{path}: ")


@pytest.fixture(scope="module")
def bundled_exits() -> list[str]:
    return load_model(BUNDLED_MODEL)[0].exit_ids()


@pytest.mark.parametrize("command", [["run", "--source", "nothing.mp4"], ["eval", "--data", "nothing"]])
def test_mess_run_and_eval_refuse_a_configuration_for_other_weights(tmp_path, capsys, command, bundled_exits):
    path = write(tmp_path / "other.json", ExitConfig([bundled_exits[0], bundled_exits[-1]]),
                 origin=ConfigOrigin("another-model", SHA_A))
    assert main([command[0], "--model", str(BUNDLED_MODEL), "--config", str(path), *command[1:]]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and str(path) in lines[0] and SHA_A[:12] in lines[0]
    sha = load_model(BUNDLED_MODEL)[1].weights_sha256
    assert sha[:12] in lines[0]


def test_the_searched_precision_is_read_back_and_an_unknown_one_refused():
    config = ExitConfig.static("final").to_json()
    assert ConfigFile.from_json(config, "c.json").precision is None
    loaded = ConfigFile.from_json({**config, "precision": "int8"}, "c.json")
    assert loaded.precision == "int8" and loaded.to_json()["precision"] == "int8"
    with pytest.raises(ConfigError, match="c.json: unknown precision 'int4'"):
        ConfigFile.from_json({**config, "precision": "int4"}, "c.json")

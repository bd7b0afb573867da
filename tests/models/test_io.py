"""Model folders on disk: round trip, atomic save, and every way a folder can be bad.

Every bad folder must give a ModelFormatError whose message is one line naming
the file (or folder) at fault; nothing is ever unpickled.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import pickle
import struct
from pathlib import Path

import pytest
import torch

from core.data.classes import CLASS_SETS
from core.errors import ModelFormatError
from core.models import MultiExitNet, convert_backbone, load_model, save_model
from core.models.io import FORMAT_VERSION, MODEL_JSON, WEIGHTS_FILE, sha256_of
from core.models.pretrained import load_pretrained, read_safetensors
from tests.models.conftest import image, make_tiny_net


def assert_one_line_naming(exc: BaseException, path: Path) -> str:
    message = str(exc)
    assert "\n" not in message and "\r" not in message, f"message is not one line: {message!r}"
    assert str(path) in message, f"message does not name {path}: {message!r}"
    return message


def read_json(folder: Path) -> dict:
    return json.loads((folder / MODEL_JSON).read_text())


def write_json(folder: Path, data: dict) -> None:
    (folder / MODEL_JSON).write_text(json.dumps(data))


@pytest.fixture
def saved(tmp_path, tiny_net) -> Path:
    folder = tmp_path / "model"
    save_model(tiny_net, folder, provenance={"created_by": "test"}, metrics={"final": {"miou": 12.5}})
    return folder


# --- round trip ------------------------------------------------------------------------------

@pytest.mark.parametrize("backbone,points", [("mobilenet_v3_large", ("features.3", "features.10")),
                                             ("resnet18", ("layer1", "layer3"))])
def test_round_trip_gives_identical_outputs_and_spec(tmp_path, backbone, points):
    net = make_tiny_net(backbone, points=points)
    x = image(3)
    with torch.no_grad():
        before = net(x)
    assert len(before) == 5  # 2 heads x 2 points + final
    save_model(net, tmp_path / "m", provenance={"created_by": "test", "seed": 0}, metrics={"final": {"miou": 1.5}})

    loaded, info = load_model(tmp_path / "m")
    assert isinstance(loaded, MultiExitNet)
    assert not loaded.training, "load_model must return the network in eval mode"
    assert loaded.spec.to_json() == net.spec.to_json()
    assert json.dumps(loaded.spec.to_json(), sort_keys=True) == json.dumps(net.spec.to_json(), sort_keys=True)
    assert loaded.exit_ids() == net.exit_ids()
    assert info.provenance == {"created_by": "test", "seed": 0}
    assert info.metrics == {"final": {"miou": 1.5}}
    with torch.no_grad():
        after = loaded(x)
    assert list(after) == list(before)
    for exit_id in before:
        assert torch.equal(before[exit_id], after[exit_id]), f"exit {exit_id} differs after the round trip"
    # every tensor (BatchNorm buffers included) survived exactly
    own = net.state_dict()
    for name, tensor in loaded.state_dict().items():
        assert torch.equal(tensor, own[name]), name


def test_saved_folder_holds_hash_and_version(saved):
    data = read_json(saved)
    assert data["format_version"] == FORMAT_VERSION
    assert data["weights_sha256"] == hashlib.sha256((saved / WEIGHTS_FILE).read_bytes()).hexdigest()
    assert data["spec"]["input_size"] == [64, 96]
    assert data["spec"]["classes"]["name"] == "camvid"


def test_save_leaves_no_temporary_files(tmp_path, tiny_net):
    folder = tmp_path / "m"
    save_model(tiny_net, folder)
    save_model(tiny_net, folder)  # replacing a model leaves nothing behind either
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted([MODEL_JSON, WEIGHTS_FILE])
    assert not list(folder.glob("*.tmp")) and not list(folder.glob(".*"))


def test_saving_over_a_model_replaces_it(tmp_path, tiny_net):
    folder = tmp_path / "m"
    save_model(make_tiny_net(points=("features.6",)), folder)
    save_model(tiny_net, folder)
    loaded, _ = load_model(folder)
    assert loaded.exit_ids() == tiny_net.exit_ids()


# --- bad folders -----------------------------------------------------------------------------

def test_missing_folder(tmp_path):
    folder = tmp_path / "nowhere"
    with pytest.raises(ModelFormatError) as err:
        load_model(folder)
    assert_one_line_naming(err.value, folder)


def test_missing_model_json(saved):
    (saved / MODEL_JSON).unlink()
    with pytest.raises(ModelFormatError) as err:
        load_model(saved)
    assert_one_line_naming(err.value, saved / MODEL_JSON)


@pytest.mark.parametrize("content", ["{not json", "", "\x00\x01", "{\"format_version\": 1,"])
def test_model_json_not_json(saved, content):
    (saved / MODEL_JSON).write_text(content)
    with pytest.raises(ModelFormatError) as err:
        load_model(saved)
    assert_one_line_naming(err.value, saved / MODEL_JSON)


def test_model_json_not_an_object(saved):
    (saved / MODEL_JSON).write_text("[1, 2, 3]")
    with pytest.raises(ModelFormatError) as err:
        load_model(saved)
    assert_one_line_naming(err.value, saved / MODEL_JSON)


@pytest.mark.parametrize("version", [99, 0, "1", None])
def test_unknown_format_version(saved, version):
    data = read_json(saved)
    data["format_version"] = version
    write_json(saved, data)
    with pytest.raises(ModelFormatError) as err:
        load_model(saved)
    message = assert_one_line_naming(err.value, saved / MODEL_JSON)
    assert "version" in message and repr(version) in message


def test_missing_format_version(saved):
    data = read_json(saved)
    del data["format_version"]
    write_json(saved, data)
    with pytest.raises(ModelFormatError) as err:
        load_model(saved)
    assert_one_line_naming(err.value, saved / MODEL_JSON)


def test_missing_weights(saved):
    (saved / WEIGHTS_FILE).unlink()
    with pytest.raises(ModelFormatError) as err:
        load_model(saved)
    assert_one_line_naming(err.value, saved / WEIGHTS_FILE)


def test_truncated_weights(saved):
    path = saved / WEIGHTS_FILE
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFormatError) as err:
        load_model(saved)
    message = assert_one_line_naming(err.value, path)
    assert "SHA-256" in message


def test_a_model_json_without_the_weights_hash_is_refused(saved):
    """Without a hash to compare, corrupted weights used to load silently (9.6 % mIoU instead of 45 %): refused."""
    data = read_json(saved)
    del data["weights_sha256"]
    write_json(saved, data)
    _flip_data_byte(saved / WEIGHTS_FILE)
    with pytest.raises(ModelFormatError) as err:
        load_model(saved)
    message = assert_one_line_naming(err.value, saved / MODEL_JSON)
    assert "no weights_sha256" in message
    data["weights_sha256"] = "abc"
    write_json(saved, data)
    with pytest.raises(ModelFormatError, match="no weights_sha256"):
        load_model(saved)


@pytest.mark.parametrize("size", [[100000, 100000], [360], "360x480", [360.5, 480], [8, 8]])
def test_a_model_json_input_size_out_of_range_is_refused(saved, size):
    data = read_json(saved)
    data["spec"]["input_size"] = size
    write_json(saved, data)
    with pytest.raises(ModelFormatError, match=r"input_size must be \[height, width\], each 16..8192 pixels"):
        load_model(saved)


def _flip_data_byte(path: Path) -> None:
    blob = bytearray(path.read_bytes())
    header_len = struct.unpack("<Q", bytes(blob[:8]))[0]
    data_start = 8 + header_len
    assert data_start < len(blob)
    position = data_start + (len(blob) - data_start) // 2
    blob[position] ^= 0xFF
    path.write_bytes(bytes(blob))


def test_tampered_weights_caught_by_hash(saved):
    path = saved / WEIGHTS_FILE
    _flip_data_byte(path)
    # the file still parses: only the hash can tell
    assert set(read_safetensors(path)) == set(make_tiny_net().state_dict())
    with pytest.raises(ModelFormatError) as err:
        load_model(saved)
    message = assert_one_line_naming(err.value, path)
    assert "SHA-256" in message


def _spec_mismatch(saved: Path, edit) -> ModelFormatError:
    data = read_json(saved)
    edit(data["spec"])  # the weights (and their hash) unchanged: the tensors themselves must be compared
    write_json(saved, data)
    with pytest.raises(ModelFormatError) as err:
        load_model(saved)
    message = assert_one_line_naming(err.value, saved / WEIGHTS_FILE)
    assert "does not match model.json's spec" in message
    return err.value


def test_weights_with_a_head_the_spec_lacks(saved):
    def drop_head(spec):
        spec["exit_heads"] = spec["exit_heads"][1:]
    message = str(_spec_mismatch(saved, drop_head))
    assert "heads." in message


def test_weights_lacking_a_head_the_spec_has(saved):
    def add_head(spec):
        spec["exit_heads"] = spec["exit_heads"] + ["features.14:fcn-c64-b0"]
    message = str(_spec_mismatch(saved, add_head))
    assert "features_14" in message


def test_weights_of_another_class_count(saved):
    def other_classes(spec):
        spec["classes"] = CLASS_SETS.get("cityscapes").to_json()  # 19 classes instead of 11
    message = str(_spec_mismatch(saved, other_classes))
    assert "shape" in message and "19" in message and "11" in message


@pytest.mark.parametrize("edit", [
    pytest.param(lambda s: s.pop("backbone"), id="no-backbone"),
    pytest.param(lambda s: s.update(mean="grey"), id="mean-not-numbers"),
    pytest.param(lambda s: s.update(backbone="no_such_backbone"), id="unknown-backbone"),
    pytest.param(lambda s: s.update(exit_heads=["features.3:not-a-head"]), id="bad-head-key"),
    pytest.param(lambda s: s.update(exit_heads=["features.99:fcn-c64-b0"]), id="unknown-exit-point"),
    pytest.param(lambda s: s.update(classes={"names": "Sky"}), id="malformed-classes"),
    pytest.param(lambda s: s.update(backbone_options={"output_stride": 7}), id="bad-backbone-option"),
])
def test_malformed_spec_in_model_json(saved, edit):
    """A model.json whose spec cannot be built is a bad model file: ModelFormatError naming model.json."""
    data = read_json(saved)
    edit(data["spec"])
    write_json(saved, data)
    with pytest.raises(ModelFormatError) as err:
        load_model(saved)
    assert_one_line_naming(err.value, saved / MODEL_JSON)


# --- pickles are never loaded ----------------------------------------------------------------

class _Payload:
    """Unpickling this creates the marker file (a stand-in for arbitrary code execution)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return builtins.open, (str(self.marker), "w")


def _evil_file(path: Path, marker: Path) -> Path:
    path.write_bytes(pickle.dumps({"conv.weight": _Payload(marker)}))
    return path


def test_payload_really_runs_when_unpickled(tmp_path):
    """Guard for the tests below: the payload is live, so an absent marker means 'never unpickled'."""
    marker = tmp_path / "proof"
    handle = pickle.loads(pickle.dumps(_Payload(marker)))
    handle.close()
    assert marker.exists()


@pytest.mark.parametrize("suffix", [".pth", ".pt", ".ckpt"])
def test_pickle_checkpoint_is_refused_unopened(tmp_path, suffix):
    marker = tmp_path / "PWNED"
    evil = _evil_file(tmp_path / f"weights{suffix}", marker)
    with pytest.raises(ModelFormatError) as err:
        read_safetensors(evil)
    message = assert_one_line_naming(err.value, evil)
    assert "pickle" in message
    with pytest.raises(ModelFormatError) as err:
        load_pretrained(torch.nn.Conv2d(3, 3, 1), evil)
    assert_one_line_naming(err.value, evil)
    with pytest.raises(ModelFormatError):
        convert_backbone("mobilenet_v3_large", CLASS_SETS.get("camvid"), weights=evil)
    assert not marker.exists(), "the pickle was executed"


def test_pickle_disguised_as_safetensors_is_refused_unopened(tmp_path):
    marker = tmp_path / "PWNED"
    evil = _evil_file(tmp_path / "weights.safetensors", marker)
    with pytest.raises(ModelFormatError) as err:
        read_safetensors(evil)
    assert_one_line_naming(err.value, evil)
    assert not marker.exists(), "the pickle was executed"


def test_pickle_as_model_weights_is_refused_unopened(saved):
    marker = saved.parent / "PWNED"
    _evil_file(saved / WEIGHTS_FILE, marker)
    data = read_json(saved)
    data["weights_sha256"] = sha256_of(saved / WEIGHTS_FILE)  # a matching hash: the format check must refuse it
    write_json(saved, data)
    with pytest.raises(ModelFormatError) as err:
        load_model(saved)
    assert_one_line_naming(err.value, saved / WEIGHTS_FILE)
    assert not marker.exists(), "the pickle was executed"


def test_missing_pretrained_file(tmp_path):
    path = tmp_path / "absent.safetensors"
    with pytest.raises(ModelFormatError) as err:
        read_safetensors(path)
    assert_one_line_naming(err.value, path)

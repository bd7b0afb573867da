"""Hostile safetensors files: crafted headers are refused in one line naming the file, never a crash,
a huge allocation or a traceback; a model folder whose weights are such a file (with a matching
SHA-256 in model.json, so that only the format check can refuse it) gives the same one line."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import pytest

from core.errors import ModelFormatError
from core.models import load_model
from core.models.io import MODEL_JSON, WEIGHTS_FILE, sha256_of
from core.models.pretrained import read_safetensors


def safetensors_bytes(header: bytes | str | dict, data: bytes = b"", length: int | None = None) -> bytes:
    """A file of the safetensors layout: 8-byte little-endian header length, the header, the data."""
    if isinstance(header, dict):
        header = json.dumps(header)
    if isinstance(header, str):
        header = header.encode()
    return struct.pack("<Q", len(header) if length is None else length) + header + data


TENSOR = {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}
HOSTILE = {
    "empty-file": b"",
    "shorter-than-the-length-field": b"\x01\x02\x03",
    "header-length-past-the-end": safetensors_bytes("{}", length=1 << 20),
    "header-length-2-to-the-63": safetensors_bytes("{}", length=1 << 63),
    "header-not-json": safetensors_bytes("this is not json"),
    "header-not-utf8": safetensors_bytes(b"\xff\xfe{}"),
    "header-a-list": safetensors_bytes("[1, 2, 3]"),
    "header-100000-deep": safetensors_bytes('{"a": ' + "[" * 100000 + "]" * 100000 + "}"),
    "offsets-past-the-data": safetensors_bytes({"w": {**TENSOR, "data_offsets": [0, 1 << 40]}}, b"\0" * 16),
    "shape-larger-than-its-bytes": safetensors_bytes({"w": {**TENSOR, "shape": [100000, 100000]}}, b"\0" * 16),
    "negative-shape": safetensors_bytes({"w": {**TENSOR, "shape": [-1, 4]}}, b"\0" * 16),
    "unknown-dtype": safetensors_bytes({"w": {**TENSOR, "dtype": "F128"}}, b"\0" * 16),
    "overlapping-tensors": safetensors_bytes({"w": TENSOR, "v": {**TENSOR, "data_offsets": [8, 24]}}, b"\0" * 24),
    "offsets-reversed": safetensors_bytes({"w": {**TENSOR, "data_offsets": [16, 0]}}, b"\0" * 16),
    "metadata-not-strings": safetensors_bytes({"__metadata__": {"a": [1, 2]}, "w": TENSOR}, b"\0" * 16),
}


def assert_one_line_naming(message: str, path: Path) -> None:
    assert "\n" not in message and str(path) in message, message


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_crafted_safetensors_header_is_one_line(tmp_path, name):
    path = tmp_path / "weights.safetensors"
    path.write_bytes(HOSTILE[name])
    with pytest.raises(ModelFormatError) as err:
        read_safetensors(path)
    assert_one_line_naming(str(err.value), path)


@pytest.mark.parametrize("name", ["header-length-2-to-the-63", "header-100000-deep", "shape-larger-than-its-bytes"])
def test_a_model_folder_with_crafted_weights_is_one_line(model_dir, tmp_path, name):
    folder = tmp_path / "model"
    shutil.copytree(model_dir, folder)
    (folder / WEIGHTS_FILE).write_bytes(HOSTILE[name])
    data = json.loads((folder / MODEL_JSON).read_text())
    data["weights_sha256"] = sha256_of(folder / WEIGHTS_FILE)   # the hash matches: the format check must refuse
    (folder / MODEL_JSON).write_text(json.dumps(data))
    with pytest.raises(ModelFormatError) as err:
        load_model(folder)
    assert_one_line_naming(str(err.value), folder / WEIGHTS_FILE)

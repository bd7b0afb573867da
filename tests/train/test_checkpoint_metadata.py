"""A checkpoint's metadata is JSON a user's file carries: read with the limits of core.jsonio."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from core.errors import ModelFormatError
from core.train.checkpoint import read_info


def _checkpoint(path, meta_text: str):
    save_file({"w": torch.zeros(1)}, str(path), metadata={"mess_checkpoint": meta_text})
    return path


@pytest.mark.parametrize("meta, words", [
    ("[" * 100_000 + "]" * 100_000, "nested more than"),
    ('{"info": {"epoch": NaN}}', "NaN is not a number"),
    ("[1, 2]", "not a JSON object"),
    ("{not json", "not valid JSON"),
])
def test_hostile_checkpoint_metadata_is_one_line_naming_the_file(tmp_path, meta, words):
    path = _checkpoint(tmp_path / "last.safetensors", meta)
    with pytest.raises(ModelFormatError) as caught:
        read_info(path)
    text = str(caught.value)
    assert words in text and str(path) in text and "\n" not in text

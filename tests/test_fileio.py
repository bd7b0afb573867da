"""All-or-nothing outputs get the umask's permissions (the fault cases are in tests/faults)."""

from __future__ import annotations

import os

import torch

from core.jsonio import write_json_atomic
from tests.data.builders import write_tiny_model


def _modes(folder) -> dict[str, int]:
    return {path.name: path.stat().st_mode & 0o777 for path in folder.rglob("*") if path.is_file()}


def test_outputs_get_the_umasks_permissions_not_mkstemps_0600(tmp_path):
    old = os.umask(0o022)
    try:
        write_json_atomic(tmp_path / "a.json", {"x": 1})
    finally:
        os.umask(old)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o644


def test_safetensors_outputs_get_the_umasks_permissions_too(tmp_path):
    """safetensors' save_file makes its own 0600 file in place of the temporary: model folders and
    checkpoints were 0600 whatever the umask."""
    from core.train.checkpoint import save_checkpoint

    old = os.umask(0o022)
    try:
        write_tiny_model(tmp_path / "model", (48, 64))
        weights = torch.nn.Linear(2, 2)
        save_checkpoint(tmp_path / "ckpt.safetensors", weights.state_dict(),
                        torch.optim.SGD(weights.parameters(), lr=0.1), info={"epoch": 1})
    finally:
        os.umask(old)
    assert _modes(tmp_path) == {"weights.safetensors": 0o644, "model.json": 0o644, "ckpt.safetensors": 0o644}

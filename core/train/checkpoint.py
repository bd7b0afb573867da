"""Training checkpoints: one safetensors file, written atomically.

Tensors (model weights, optimizer buffers, the torch RNG state, the gradient
scaler) are safetensors entries; everything else (epoch, step, stage,
optimizer hyper-parameters, numpy RNG state) is JSON in the file's metadata.
A run killed at any moment leaves either the previous checkpoint or the new
one, never a half-written file. Nothing is pickled.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from core.errors import ModelFormatError
from core.fileio import WriteError, commit, temp_beside, write_failure
from core.jsonio import parse_json
from core.models.pretrained import read_safetensors
from safetensors import SafetensorError, safe_open


def _split_optimizer(state: dict) -> tuple[dict[str, torch.Tensor], dict]:
    tensors: dict[str, torch.Tensor] = {}
    plain: dict[str, dict] = {}
    for index, entry in state["state"].items():
        for key, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"optim/{index}/{key}"] = value.detach().cpu().contiguous()
            else:
                plain.setdefault(str(index), {})[key] = value
    return tensors, {"plain": plain, "param_groups": state["param_groups"]}


def _join_optimizer(tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict[str, Any]] = {}
    for name, tensor in tensors.items():
        if name.startswith("optim/"):
            _, index, key = name.split("/", 2)
            state.setdefault(int(index), {})[key] = tensor
    for index, entry in meta["plain"].items():
        state.setdefault(int(index), {}).update(entry)
    return {"state": state, "param_groups": meta["param_groups"]}


def save_checkpoint(path: Path, model_state: dict[str, torch.Tensor], optimizer: torch.optim.Optimizer,
                    info: dict, scaler: torch.amp.GradScaler | None = None,
                    extra: dict[str, torch.Tensor] | None = None) -> None:
    """Write model, optimizer, RNG, ``info`` (JSON-able) and ``extra`` tensors to ``path`` atomically."""
    path = Path(path)
    tensors = {f"model/{k}": v.detach().cpu().contiguous() for k, v in model_state.items()}
    tensors.update({f"extra/{k}": v.detach().cpu().contiguous() for k, v in (extra or {}).items()})
    optim_tensors, optim_meta = _split_optimizer(optimizer.state_dict())
    tensors.update(optim_tensors)
    tensors["rng/torch"] = torch.get_rng_state()
    if torch.cuda.is_available():
        for i, rng in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng/cuda{i}"] = rng
    meta = {"info": info, "optimizer": optim_meta}
    if scaler is not None and scaler.is_enabled():
        meta["scaler"] = {k: (float(v) if torch.is_tensor(v) else v) for k, v in scaler.state_dict().items()}
    tmp = temp_beside(path)
    try:
        save_file(tensors, str(tmp), metadata={"mess_checkpoint": json.dumps(meta)})
    except (OSError, SafetensorError) as exc:
        tmp.unlink(missing_ok=True)
        raise WriteError(f"{path}: cannot write the checkpoint ({write_failure(exc)}); the previous one is "
                         "unchanged") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    commit(tmp, path)


def load_checkpoint(path: Path, optimizer: torch.optim.Optimizer | None = None,
                    scaler: torch.amp.GradScaler | None = None) -> tuple[dict[str, torch.Tensor], dict]:
    """Read a checkpoint; restores the optimizer, scaler and RNG states; returns (model state, info)."""
    path = Path(path)
    tensors = read_safetensors(path)
    meta = _read_meta(path)
    if optimizer is not None:
        optimizer.load_state_dict(_join_optimizer(tensors, meta["optimizer"]))
    if scaler is not None and "scaler" in meta:
        scaler.load_state_dict(meta["scaler"])
    torch.set_rng_state(tensors["rng/torch"])
    cuda_states = [tensors[k] for k in sorted(tensors) if k.startswith("rng/cuda")]
    if cuda_states and torch.cuda.is_available() and len(cuda_states) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda_states)
    model_state = {k[len("model/"):]: v for k, v in tensors.items() if k.startswith("model/")}
    return model_state, meta["info"]


def load_extra(path: Path) -> dict[str, torch.Tensor]:
    """The ``extra`` tensors a checkpoint was saved with (empty when none)."""
    return {k[len("extra/"):]: v for k, v in read_safetensors(Path(path)).items() if k.startswith("extra/")}


def _read_meta(path: Path) -> dict:
    try:
        with safe_open(str(path), framework="pt") as handle:
            raw = (handle.metadata() or {}).get("mess_checkpoint")
    except (SafetensorError, OSError) as exc:
        raise ModelFormatError(f"{path}: not a readable safetensors file ({str(exc).splitlines()[0]})") from None
    if raw is None:
        raise ModelFormatError(f"{path}: not a MESS training checkpoint")
    meta = parse_json(raw, str(path), "checkpoint's metadata", error=ModelFormatError)
    if not isinstance(meta, dict):
        raise ModelFormatError(f"{path}: the checkpoint's metadata is not a JSON object")
    return meta


def read_info(path: Path) -> dict:
    """The ``info`` of a checkpoint, without loading its tensors."""
    return _read_meta(path)["info"]

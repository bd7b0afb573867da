"""A model on disk: a folder with model.json and weights.safetensors.

model.json holds the format version, the ModelSpec, provenance, per-exit
metrics and the SHA-256 of the weights file. Loading checks, in order: the
folder and files exist, the format version is known, the weights hash matches
(a truncated or tampered file is caught here), the safetensors file parses,
and its tensor names and shapes are exactly those the spec builds. Nothing is
ever unpickled. Saving writes both files as temporaries, then renames them into place together.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import save_file

from core.errors import MessError, ModelFormatError
from core.fileio import WriteError, commit_together, stage_bytes, temp_beside, write_failure
from core.jsonio import json_bytes, read_json
from core.models.network import MultiExitNet
from core.models.pretrained import read_safetensors
from core.models.spec import ModelSpec

FORMAT_VERSION = 1
MODEL_JSON = "model.json"
WEIGHTS_FILE = "weights.safetensors"


@dataclass
class ModelInfo:
    """What model.json says besides the spec."""

    folder: Path
    provenance: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    weights_sha256: str = ""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_model(net: MultiExitNet, folder: str | Path, provenance: dict | None = None,
               metrics: dict | None = None, half: bool = False) -> ModelInfo:
    """Write ``net`` as a model folder (created if needed), all or nothing: the weights and model.json
    are both written and flushed before either is renamed into place (``commit_together``), so a full
    disk or a signal leaves the previous model as it was, and a folder this call created is removed.

    ``half=True`` stores floating-point tensors as float16 (half the size on disk, e.g. for
    a bundled model); loading casts them back to the network's float32."""
    from core.models.inference import is_inference_optimized

    if is_inference_optimized(net):
        raise MessError("this network was loaded for inference (BatchNorm folded): load it again without "
                        "inference=True to save it")
    folder = Path(folder)
    created = not folder.exists()
    state = {name: tensor.detach().to("cpu").contiguous() for name, tensor in net.state_dict().items()}
    if half:
        state = {name: tensor.half() if tensor.is_floating_point() else tensor for name, tensor in state.items()}
    staged: list[Path] = []
    try:
        weights = temp_beside(folder / WEIGHTS_FILE, prefix=".weights.")    # creates the folder
        staged.append(weights)
        try:
            save_file(state, str(weights), metadata={"format": "mess-studio", "format_version": str(FORMAT_VERSION)})
            digest = sha256_of(weights)
        except (OSError, SafetensorError) as exc:
            raise WriteError(f"{folder / WEIGHTS_FILE}: cannot write ({write_failure(exc)}); the previous file, "
                             "if any, is unchanged") from None
        info = ModelInfo(folder, dict(provenance or {}), dict(metrics or {}), weights_sha256=digest)
        description = stage_bytes(folder / MODEL_JSON, json_bytes({
            "format_version": FORMAT_VERSION,
            "spec": net.spec.to_json(),
            "provenance": info.provenance,
            "metrics": info.metrics,
            "weights_sha256": digest,
        }))
        staged.append(description)
        commit_together([(weights, folder / WEIGHTS_FILE), (description, folder / MODEL_JSON)])
    except BaseException:
        for tmp in staged:
            tmp.unlink(missing_ok=True)
        if created:
            _remove_if_empty(folder)
        raise
    return info


def _remove_if_empty(folder: Path) -> None:
    """A folder this save created, removed again when the save failed (nothing in it)."""
    try:
        folder.rmdir()
    except OSError:
        pass


def read_model_json(folder: str | Path) -> tuple[ModelSpec, ModelInfo]:
    folder = Path(folder)
    path = folder / MODEL_JSON
    if not folder.is_dir():
        raise ModelFormatError(f"{folder}: model folder not found")
    if not path.is_file():
        raise ModelFormatError(f"{path}: not found (a model folder holds model.json and {WEIGHTS_FILE})")
    data = read_json(path, "model description", ModelFormatError, max_bytes=16 << 20)
    if not isinstance(data, dict):
        raise ModelFormatError(f"{path}: not a model description (expected a JSON object)")
    version = data.get("format_version")
    if type(version) is not int or version != FORMAT_VERSION:
        raise ModelFormatError(f"{path}: unknown format version {version!r} "
                               f"(this MESS Studio reads version {FORMAT_VERSION})")
    try:
        spec = ModelSpec.from_json(data.get("spec") or {}, source=str(path))
    except ModelFormatError:
        raise
    except MessError as exc:
        raise ModelFormatError(f"{path}: bad model spec: {exc}") from None
    digest = data.get("weights_sha256")
    if not isinstance(digest, str) or len(digest) != 64:
        # Without it, corrupted weights would load silently (every model folder this version writes has it).
        raise ModelFormatError(f"{path}: no weights_sha256 (the SHA-256 of {WEIGHTS_FILE}); a model folder "
                               "without it cannot be checked: save it again with mess convert or mess train")
    info = ModelInfo(folder, data.get("provenance", {}), data.get("metrics", {}), weights_sha256=digest)
    return spec, info


def load_model(folder: str | Path, device: str | torch.device = "cpu",
               inference: bool = False) -> tuple[MultiExitNet, ModelInfo]:
    """Rebuild the network a folder describes and load its weights (eval mode).

    ``inference=True`` gives the faster inference form (core.models.inference): same outputs,
    BatchNorm folded, channels-last; it cannot be trained or saved."""
    spec, info = read_model_json(folder)
    weights = Path(folder) / WEIGHTS_FILE
    if not weights.is_file():
        raise ModelFormatError(f"{weights}: not found")
    if info.weights_sha256 and sha256_of(weights) != info.weights_sha256:
        raise ModelFormatError(f"{weights}: does not match the SHA-256 recorded in model.json (truncated or modified)")
    state = read_safetensors(weights)
    try:
        net = MultiExitNet(spec)
    except MessError as exc:
        raise ModelFormatError(f"{Path(folder) / MODEL_JSON}: bad model spec: {exc}") from None
    expected = net.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        what = f"lacks '{missing[0]}'" if missing else f"has '{unexpected[0]}' that the spec does not build"
        raise ModelFormatError(f"{weights}: does not match model.json's spec: the file {what} "
                               f"({len(missing)} missing, {len(unexpected)} unexpected tensors)")
    for name, tensor in state.items():
        if tensor.shape != expected[name].shape:
            raise ModelFormatError(f"{weights}: does not match model.json's spec: '{name}' has shape "
                                   f"{tuple(tensor.shape)}, the spec builds {tuple(expected[name].shape)}")
    net.load_state_dict(state, strict=True)
    net = net.to(device).eval()
    if inference:
        from core.models.inference import optimize_for_inference

        optimize_for_inference(net)
    return net, info

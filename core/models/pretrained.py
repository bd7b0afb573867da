"""Loading pretrained weights that a user gives as a local file.

Only safetensors files are read: a PyTorch ``.pth``/``.pt`` checkpoint is a
pickle, and the engine never unpickles a file a user gave it. Nothing is ever
downloaded. Tensors whose shape differs from the model's (a classifier with
another class count) are skipped and reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from core.errors import ModelFormatError

PICKLE_SUFFIXES = (".pth", ".pt", ".pkl", ".bin", ".ckpt")
CONVERT_HINT = (
    "convert it once, on a machine you trust, with: python -c \"import torch, safetensors.torch as s; "
    "s.save_file(torch.load('IN.pth', weights_only=True), 'OUT.safetensors')\""
)


@dataclass
class LoadReport:
    path: str
    loaded: int = 0
    skipped_shape: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = f"{self.path}: loaded {self.loaded} tensors"
        if self.skipped_shape:
            text += f"; skipped {len(self.skipped_shape)} of another shape ({', '.join(self.skipped_shape[:3])}...)"
        if self.missing:
            text += f"; {len(self.missing)} model tensors not in the file (kept at their initial values)"
        return text


def read_safetensors(path: Path) -> dict:
    """Read a safetensors file; a pickle checkpoint or a broken file gives a one-line error."""
    path = Path(path)
    if not path.is_file():
        raise ModelFormatError(f"{path}: weights file not found")
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise ModelFormatError(f"{path}: PyTorch pickle checkpoints are never loaded (unsafe); {CONVERT_HINT}")
    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelFormatError(f"{path}: not a readable safetensors file ({detail})") from None


def load_pretrained(module: nn.Module, path: Path, strip_prefixes: tuple[str, ...] = ()) -> LoadReport:
    """Copy matching tensors of a safetensors file into ``module`` (names as torchvision's)."""
    tensors = read_safetensors(path)
    own = module.state_dict()
    report = LoadReport(str(path))
    usable = {}
    for name, tensor in tensors.items():
        for prefix in strip_prefixes:
            if name.startswith(prefix) and name[len(prefix):] in own:
                name = name[len(prefix):]
                break
        if name not in own:
            continue
        if own[name].shape != tensor.shape:
            report.skipped_shape.append(name)
            continue
        usable[name] = tensor
    if not usable:
        sample = ", ".join(list(tensors)[:3]) or "no tensors"
        raise ModelFormatError(f"{path}: no tensor matches this model's parameter names (file has: {sample}...)")
    module.load_state_dict(usable, strict=False)
    report.loaded = len(usable)
    report.missing = [n for n in own if n not in usable and not n.endswith("num_batches_tracked")]
    return report

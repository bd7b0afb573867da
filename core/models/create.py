"""Make a model folder from a registered backbone: what `mess convert` does, callable from Python.

The class set is a registered name (camvid, cityscapes, voc) or a classes.json file; the heads
are a preset name (light, standard, wide) or comma-separated head keys.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from core.data.classes import CLASS_SETS, ClassSet, load_class_set
from core.errors import ConfigError
from core.models.convert import convert_backbone
from core.models.heads import HEAD_PRESETS, HeadConfig
from core.models.io import save_model


def resolve_classes(text: str | Path) -> ClassSet:
    """A registered class set by name, else a classes.json file."""
    return CLASS_SETS.get(str(text)) if str(text) in CLASS_SETS else load_class_set(text)


def resolve_heads(text: str) -> list[HeadConfig]:
    """A head preset by name, else comma-separated head keys such as fcn-c128-b2-rdi,dlb-c64-b1."""
    if text in HEAD_PRESETS:
        return list(HEAD_PRESETS.get(text))
    heads = [HeadConfig.parse(part.strip()) for part in text.split(",") if part.strip()]
    if not heads:
        raise ConfigError("no heads given (a preset name or comma-separated head keys)")
    return heads


def check_output_folder(out: str | Path, replace: bool = False) -> Path:
    """Refuse to write over a non-empty folder unless ``replace``."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: exists and is not a folder")
    if out.exists() and any(out.iterdir()) and not replace:
        raise ConfigError(f"{out}: folder exists and is not empty (use --force to replace the model in it)")
    return out


def convert_to_folder(backbone: str, out: str | Path, classes: str | Path | ClassSet = "camvid",
                      heads: str | Sequence[HeadConfig] = "light", points: Sequence[str] | None = None,
                      options: dict | None = None, weights: str | Path | None = None,
                      input_size: tuple[int, int] | None = None, seed: int = 0, replace: bool = False):
    """Build ``backbone`` as a multi-exit network and save it in ``out``; returns (net, ModelInfo)."""
    out = check_output_folder(out, replace)
    class_set = classes if isinstance(classes, ClassSet) else resolve_classes(classes)
    head_configs = resolve_heads(heads) if isinstance(heads, str) else list(heads)
    net = convert_backbone(backbone, class_set, head_configs, points=points, options=options, weights=weights,
                           input_size=input_size, seed=seed)
    info = save_model(net, out, provenance={"created_by": "mess convert", "backbone": backbone,
                                            "weights": str(weights) if weights else "random initialisation",
                                            "seed": seed, "trained": False})
    return net, info

"""A readable summary of a model folder: what it is, where it came from, how well each exit does.

Everything here comes from model.json (the spec, the provenance, the metrics); nothing runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from core.models.io import ModelInfo
from core.models.spec import ModelSpec


@dataclass
class ModelSummary:
    name: str
    backbone: str
    backbone_options: dict
    classes: list[tuple[str, tuple[int, int, int]]]   # (name, RGB) in class-index order
    class_set: str
    input_size: tuple[int, int] | None
    early_exits: int
    points: int
    provenance: str                                   # one line
    val_miou: dict[str, float] = field(default_factory=dict)   # exit id -> % (empty when unknown)
    val_split: str | None = None
    val_note: str = ""                                # e.g. "first 20 images"


def describe_provenance(provenance: dict) -> str:
    """One line: who made the model and how (trained by mess train, stage, epochs; converted; unknown)."""
    if not provenance:
        return "unknown origin (no provenance in model.json)"
    creator = provenance.get("created_by", "unknown tool")
    if creator == "mess train":
        config = provenance.get("config") or {}
        parts = [f"trained by mess train (stage {provenance.get('stage', '?')})"]
        epochs = [f"{config[k]} epochs stage {s}" for s, k in ((1, "epochs_stage1"), (2, "epochs_stage2"))
                  if isinstance(config.get(k), int) and _ran_stage(config, s, provenance)]
        if epochs:
            parts.append(", ".join(epochs))
        if provenance.get("device"):
            parts.append(f"on {provenance['device']}")
        if config.get("data"):
            parts.append(f"data {config['data']}")
        return ", ".join(parts)
    if creator == "mess convert":
        weights = provenance.get("weights", "random initialisation")
        trained = "untrained" if not provenance.get("trained") else "trained"
        return f"converted by mess convert from {weights} ({trained}, seed {provenance.get('seed', '?')})"
    return f"created by {creator}" + (" (trained)" if provenance.get("trained") else "")


def _ran_stage(config: dict, stage: int, provenance: dict) -> bool:
    chosen = str(config.get("stage", "all"))
    if chosen == "all":
        return stage <= int(provenance.get("stage", 2))
    return chosen == str(stage)


def _split_names(value) -> set[str]:
    if isinstance(value, str):
        return {part.strip() for part in value.split("+") if part.strip()}
    if isinstance(value, (list, tuple)):
        return {str(part).strip() for part in value if str(part).strip()}
    return set()


def _training_runs(provenance: dict) -> list[dict]:
    """The configs of the runs that trained the model: its own and, after --init-model, its backbone's."""
    runs = []
    for record in (provenance, provenance.get("stage1") if isinstance(provenance, dict) else None):
        config = record.get("config") if isinstance(record, dict) else None
        if isinstance(config, dict):
            runs.append(config)
    return runs


def _folder_name(path: str) -> str:
    """The name of the dataset folder a run recorded (its path is its own machine's: only the name counts),
    without case; a path ending in '.' or '..' by the folder it names here."""
    name = Path(path).name
    if not name or name in (".", ".."):
        name = Path(path).resolve().name
    return name.casefold()


def trains_on(provenance: dict, split: str | None, sequences: Iterable[str] = (), data: str | None = None) -> bool:
    """Whether a model trained on frames of ``split`` (e.g. val, for a model trained on train+val), by its
    provenance: its own run's config and its backbone's (``provenance["stage1"]``). ``sequences``: the
    sequences of the frames in question (frames all in a run's held-out sequences were not trained on);
    ``data``: the dataset folder in question (a run on a folder of another name did not train on it)."""
    wanted = _split_names(split)
    for config in _training_runs(provenance if isinstance(provenance, dict) else {}):
        if not wanted & _split_names(config.get("train_split")):
            continue
        trained_data = config.get("data")
        if data is not None and isinstance(trained_data, str) and trained_data \
                and _folder_name(trained_data) != Path(data).resolve().name.casefold():
            continue
        hold_out = config.get("hold_out")
        held = {part.strip() for part in hold_out.split(",") if part.strip()} if isinstance(hold_out, str) else set()
        chosen = set(sequences)
        if held and chosen and chosen <= held:
            continue
        return True
    return False


def summarize(spec: ModelSpec, info: ModelInfo) -> ModelSummary:
    metrics = info.metrics or {}
    raw = metrics.get("val_miou") if isinstance(metrics.get("val_miou"), dict) else {}
    val = {str(k): float(v) for k, v in raw.items() if isinstance(v, (int, float))}
    config = (info.provenance or {}).get("config") or {}
    notes = [f"first {config['val_limit']} images"] if val and isinstance(config.get("val_limit"), int) else []
    # A run with held-out sequences validated on them (its split reads "held-out SEQ (...)"), never on its own frames.
    if val and not config.get("hold_out") and trains_on(info.provenance or {}, metrics.get("split")):
        notes.append("frames it trained on")
    note = ", ".join(notes)
    points = {h.point for h in spec.exit_heads}
    return ModelSummary(
        name=info.folder.name, backbone=spec.backbone, backbone_options=dict(spec.backbone_options),
        classes=[(n, tuple(c)) for n, c in zip(spec.classes.names, spec.classes.palette)],
        class_set=spec.classes.name, input_size=spec.input_size, early_exits=len(spec.exit_heads),
        points=len(points), provenance=describe_provenance(info.provenance or {}), val_miou=val,
        val_split=metrics.get("split") if val else None, val_note=note)

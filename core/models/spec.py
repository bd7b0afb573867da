"""ModelSpec: everything needed to rebuild a MESS network, as versioned JSON."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.data.classes import ClassSet
from core.errors import ConfigError, ModelFormatError
from core.models.heads import HeadConfig

FINAL_EXIT = "final"


MAX_INPUT_SIDE = 8192  # pixels: a model.json asking for more is a mistake (or an attack on memory)


@dataclass(frozen=True)
class ExitHeadSpec:
    """One early-exit head: a design-space head attached at a candidate point."""

    point: str
    head: HeadConfig

    @property
    def exit_id(self) -> str:
        return f"{self.point}:{self.head.key()}"

    @classmethod
    def parse(cls, exit_id: str) -> "ExitHeadSpec":
        point, sep, key = exit_id.partition(":")
        if not sep:
            raise ConfigError(f"exit '{exit_id}' is not of the form <point>:<head>, e.g. layer2:fcn-c128-b2-rdi")
        return cls(point, HeadConfig.parse(key))


@dataclass
class ModelSpec:
    """The constructor arguments of a MultiExitNet."""

    backbone: str
    classes: ClassSet
    backbone_options: dict = field(default_factory=dict)
    exit_heads: list[ExitHeadSpec] = field(default_factory=list)
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    # (height, width) the model is meant to run at; None = the input's own size.
    input_size: tuple[int, int] | None = None

    @property
    def num_classes(self) -> int:
        return self.classes.num_classes

    def exit_ids(self) -> list[str]:
        return [h.exit_id for h in self.exit_heads]

    def to_json(self) -> dict:
        return {
            "backbone": self.backbone,
            "backbone_options": dict(self.backbone_options),
            "classes": self.classes.to_json(),
            "exit_heads": [h.exit_id for h in self.exit_heads],
            "mean": list(self.mean),
            "std": list(self.std),
            "input_size": list(self.input_size) if self.input_size else None,
        }

    @classmethod
    def from_json(cls, data: dict, source: str = "model.json") -> "ModelSpec":
        size = data.get("input_size") if isinstance(data, dict) else None
        if size is not None and (not isinstance(size, list) or len(size) != 2
                                 or not all(isinstance(v, int) and not isinstance(v, bool)
                                            and 16 <= v <= MAX_INPUT_SIDE for v in size)):
            raise ModelFormatError(f"{source}: input_size must be [height, width], each 16..{MAX_INPUT_SIDE} "
                                   f"pixels, got {str(size)[:60]}")
        try:
            return cls(
                backbone=str(data["backbone"]),
                classes=ClassSet.from_json(data["classes"]),
                backbone_options=dict(data.get("backbone_options", {})),
                exit_heads=[ExitHeadSpec.parse(e) for e in data.get("exit_heads", [])],
                mean=tuple(float(v) for v in data["mean"]),
                std=tuple(float(v) for v in data["std"]),
                input_size=tuple(int(v) for v in data["input_size"]) if data.get("input_size") else None,
            )
        except KeyError as exc:
            raise ModelFormatError(f"{source}: the model spec has no '{exc.args[0]}'") from None
        except (TypeError, ValueError) as exc:
            raise ModelFormatError(f"{source}: the model spec is malformed ({exc})") from None

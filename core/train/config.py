"""TrainConfig: every setting of a two-stage MESS training run, as versioned JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from core.data.sequences import parse_sequences
from core.errors import ConfigError, DataError
from core.models.heads import HEAD_PRESETS, HeadConfig

TRAIN_FORMAT_VERSION = 1
STAGES = ("1", "2", "all")
OPTIMIZERS = ("sgd", "adamw")


@dataclass
class TrainConfig:
    data: str
    out: str
    backbone: str = "lraspp_mobilenet_v3_large"
    backbone_options: dict = field(default_factory=dict)
    classes: str | None = None          # class set name or classes.json; default: the dataset's
    layout: str | None = None
    train_split: str = "train"
    val_split: str = "val"
    hold_out: str = ""                  # sequences (comma-separated) left out of training and validated on
    stage: str = "all"
    epochs_stage1: int = 100
    epochs_stage2: int = 30
    batch_size: int = 8
    train_size: tuple[int, int] | None = None   # resize (H, W) before augmentation; None = native
    crop: tuple[int, int] = (360, 480)
    scale: tuple[float, float] = (0.5, 2.0)
    eval_size: tuple[int, int] | None = None
    optimizer: str = "sgd"
    lr: float = 0.05
    lr_stage2: float = 0.01
    weight_decay: float = 1e-4
    momentum: float = 0.9
    warmup_iters: int = 200
    loss: str = "weighted_ce"
    stage1_head: str = "fcn-c64-b0"
    stage1_early_weight: float = 1.0
    swa_epochs: int = 0                 # stage 1: average the weights of its last N epochs (SWA)
    swa_lr: float | None = None         # constant learning rate of those epochs; None = lr / 10
    stage2_heads: str = "wide"
    distill_alpha: float = 1.0
    distill_temperature: float = 1.5
    unlabelled: str | None = None
    pretrained: str | None = None       # safetensors with torchvision names
    init_model: str | None = None       # trained model folder: stage 1 fine-tunes it, stage 2 alone starts from it
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    workers: int = 0
    val_limit: int | None = None
    format_version: int = TRAIN_FORMAT_VERSION

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ConfigError(f"--stage {self.stage}: choose 1, 2 or all")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"optimizer '{self.optimizer}': choose {' or '.join(OPTIMIZERS)}")
        for name in ("epochs_stage1", "epochs_stage2", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 0 <= int(self.swa_epochs) <= int(self.epochs_stage1):
            raise ConfigError(f"swa_epochs must be between 0 and the stage-1 epochs ({self.epochs_stage1}), "
                              f"got {self.swa_epochs}")
        if self.swa_lr is not None and self.swa_lr <= 0:
            raise ConfigError(f"swa_lr must be positive, got {self.swa_lr}")
        self.stage2_head_configs()
        HeadConfig.parse(self.stage1_head)
        try:
            self.hold_out = ",".join(parse_sequences(self.hold_out, "hold_out"))
        except DataError as exc:
            raise ConfigError(str(exc)) from None
        for name in ("train_size", "crop", "eval_size", "scale"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, tuple(value))

    def stage2_head_configs(self) -> list[HeadConfig]:
        if self.stage2_heads in HEAD_PRESETS:
            return list(HEAD_PRESETS.get(self.stage2_heads))
        return [HeadConfig.parse(k.strip()) for k in self.stage2_heads.split(",") if k.strip()]

    @property
    def averaging_lr(self) -> float:
        """The constant stage-1 learning rate while weights are averaged."""
        return self.swa_lr if self.swa_lr is not None else self.lr / 10

    @property
    def held_out(self) -> tuple[str, ...]:
        return parse_sequences(self.hold_out)

    @property
    def held_out_pool(self) -> str:
        """The splits whose frames of the held-out sequences are validated on: train and val, joined."""
        return "+".join(dict.fromkeys(self.train_split.split("+") + self.val_split.split("+")))

    @property
    def validation_split(self) -> str:
        """What validation runs on, in words: the val split, or the held-out sequences' frames."""
        if self.held_out:
            return f"held-out {self.hold_out} ({self.held_out_pool})"
        return self.val_split

    def runs_stage(self, stage: int) -> bool:
        return self.stage == "all" or self.stage == str(stage)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict, source: str = "run.json") -> "TrainConfig":
        if data.get("format_version") != TRAIN_FORMAT_VERSION:
            raise ConfigError(f"{source}: unknown training-config format version {data.get('format_version')!r}")
        known = {f.name for f in fields(cls)}
        try:
            return cls(**{k: v for k, v in data.items() if k in known})
        except TypeError as exc:
            raise ConfigError(f"{source}: malformed training config ({exc})") from None

    @classmethod
    def load(cls, path: Path) -> "TrainConfig":
        from core.jsonio import read_json

        return cls.from_json(read_json(path, "run config", max_bytes=1 << 20), source=str(path))

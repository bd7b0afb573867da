"""TrainConfig: every setting of a two-stage MESS training run, as versioned JSON.

Each setting is declared once, here: its type and default (the dataclass field) and an ``Option``
in the field's metadata (help, the `mess train` flag, choices, range). The command line's
options are generated from them (core.cli.commands.train), ``__post_init__`` checks the ranges,
and ``FORM_SECTIONS`` names the settings the GUI's Train form shows, section by section: the
form (app.widgets.train_form) makes each one's widget from its type and Option (a combo box for
choices, a spin box for a number in its range, a check box for a boolean, HxW for a size, a path
field for a file or folder) with the help as its tooltip, so a setting added to a section here
appears in the form.
"""

from __future__ import annotations

import typing
from dataclasses import MISSING, Field, asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable, Iterable

from core.data.augmentations import AUGMENTATIONS
from core.data.layouts import DATASET_LAYOUTS
from core.data.sequences import parse_sequences
from core.device import DEVICE_CHOICES
from core.errors import ConfigError, DataError
from core.models import BACKBONES
from core.models.heads import HEAD_PRESETS, HeadConfig

TRAIN_FORMAT_VERSION = 1
STAGES = ("1", "2", "all")
OPTIMIZERS = ("sgd", "adamw")
LOSSES = ("weighted_ce", "ohem", "ce")
MAX_EPOCHS = 100_000


@dataclass(frozen=True)
class Entry:
    """One key of a dict-valued setting with a flag of its own (backbone_options: --output-stride)."""

    key: str
    type: type
    help: str

    @property
    def flag(self) -> str:
        return "--" + self.key.replace("_", "-")


@dataclass(frozen=True)
class Option:
    """How a setting is given on the command line and in the Train form.

    ``flag``: the `mess train` option (default: the field's name with dashes); ``negates``: a
    boolean set off by ``flag`` (--no-amp); ``choices``: what the parser accepts (a tuple, or
    a callable for a registry's names); ``names``: names listed in the help but not enforced
    (a registry whose errors come later, with more to say); ``minimum``/``maximum``: the range,
    inclusive, checked by TrainConfig and used by the form's widgets; ``falls_back_to``: a setting
    whose given value this one takes when it is not given (--stage2-epochs takes --epochs);
    ``entries``: the flags of a dict setting's keys."""

    help: str
    flag: str | None = None
    metavar: str | None = None
    choices: tuple[str, ...] | Callable[[], Iterable[str]] | None = None
    names: Callable[[], Iterable[str]] | None = None
    minimum: float | None = None
    maximum: float | None = None
    required: bool = False
    negates: bool = False
    falls_back_to: str | None = None
    entries: tuple[Entry, ...] = ()

    def choice_list(self) -> tuple[str, ...] | None:
        if self.choices is None:
            return None
        return tuple(self.choices() if callable(self.choices) else self.choices)

    def check(self, name: str, value: object) -> None:
        """A ConfigError (one line) for a name outside the choices or a number outside the range."""
        if isinstance(value, str) and self.choices is not None and value not in self.choice_list():
            raise ConfigError(f"{name} '{value}': choose {', '.join(self.choice_list())}")
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            return
        low, high = self.minimum, self.maximum
        if (low is not None and value < low) or (high is not None and value > high):
            if high is None:
                raise ConfigError(f"{name} must be at least {low:g}, got {value}")
            if low is None:
                raise ConfigError(f"{name} must be at most {high:g}, got {value}")
            raise ConfigError(f"{name} must be between {low:g} and {high:g}, got {value}")


def setting(default=MISSING, help: str = "", *, factory=MISSING, **option) -> Field:
    """A TrainConfig field and its Option."""
    metadata = {"option": Option(help, **option)}
    if factory is not MISSING:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def _names(registry) -> Callable[[], list[str]]:
    return registry.names


@dataclass(frozen=True)
class TrainConfig:
    data: str = setting(help="labelled dataset folder (CamVid, image/mask folders, Cityscapes or VOC layout)")
    out: str = setting(help="run folder (new or empty; with --resume, the run to continue)", required=True)
    backbone: str = setting("lraspp_mobilenet_v3_large", "backbone to make multi-exit", names=_names(BACKBONES))
    backbone_options: dict = setting(
        help="options of the backbone", factory=dict,
        entries=(Entry("output_stride", int, "backbone output stride"),
                 Entry("final_head", str, "final head of a plain backbone (deeplabv3, fcn, lraspp)")))
    classes: str | None = setting(None, "class set name or classes.json (default: the dataset's)")
    layout: str | None = setting(None, "the dataset's layout (default: detected)", choices=_names(DATASET_LAYOUTS))
    train_split: str = setting("train", "split(s) to train on, joined with '+' (e.g. train+val)", flag="--split")
    val_split: str = setting("val", "split to validate on")
    hold_out: str = setting("", "leave these sequences (file-name prefix, e.g. 0006R0) out of training and validate "
                                "on all their frames in --split and --val-split instead of on --val-split; "
                                "with --recipe, a fold of the recipe", metavar="SEQ[,SEQ]")
    stage: str = setting("all", "stages to run: 1 (exit-aware backbone), 2 (exit heads on the frozen backbone) "
                                "or all (1 then 2)", choices=STAGES)
    epochs_stage1: int = setting(100, "epochs of each stage run (stage 1; stage 2 too unless --stage2-epochs)",
                                 flag="--epochs", minimum=1, maximum=MAX_EPOCHS)
    epochs_stage2: int = setting(30, "epochs of stage 2 when it differs from --epochs", flag="--stage2-epochs",
                                 minimum=1, maximum=MAX_EPOCHS, falls_back_to="epochs_stage1")
    batch_size: int = setting(8, "images per step and process", minimum=1, maximum=4096)
    train_size: tuple[int, int] | None = setting(None, "resize training images to HxW before augmentation "
                                                       "(default: native)")
    crop: tuple[int, int] = setting((360, 480), "training crop HxW")
    scale: tuple[float, float] = setting((0.5, 2.0), "random rescaling of training images, MIN,MAX",
                                         metavar="MIN,MAX", minimum=0.05, maximum=10.0)
    augment: str = setting("standard", "photometric and occlusion augmentation of training crops: standard "
                                       "(colour jitter 0.2) or strong (jitter 0.4, blur, cut-out)",
                           choices=_names(AUGMENTATIONS))
    eval_size: tuple[int, int] | None = setting(None, "validation size HxW (default: native)")
    optimizer: str = setting("sgd", "optimizer of both stages", choices=OPTIMIZERS)
    lr: float = setting(0.05, "stage-1 learning rate (poly schedule with warm-up)", minimum=0.0, maximum=10.0)
    lr_stage2: float = setting(0.01, "stage-2 learning rate", minimum=0.0, maximum=10.0)
    weight_decay: float = setting(1e-4, "weight decay of both stages", minimum=0.0, maximum=1.0)
    momentum: float = setting(0.9, "SGD momentum", minimum=0.0, maximum=1.0)
    warmup_iters: int = setting(200, "steps of linear learning-rate warm-up", minimum=0)
    loss: str = setting("weighted_ce", "segmentation loss", choices=LOSSES)
    stage1_head: str = setting("fcn-c64-b0", "the light head each exit point gets in stage 1 (dropped after it)")
    stage1_early_weight: float = setting(1.0, "stage 1: weight of the early exit's loss beside the final exit's",
                                         minimum=0.0)
    swa_epochs: int = setting(0, "stage 1: average the weights of its last N epochs (stochastic weight averaging; "
                                 "the poly schedule then ends N epochs early)", minimum=0, maximum=MAX_EPOCHS)
    swa_lr: float | None = setting(None, "constant learning rate of the averaged epochs (default: --lr / 10)")
    stage2_heads: str = setting("wide", "head preset or comma-separated heads trained in stage 2 at every point",
                                names=_names(HEAD_PRESETS))
    distill_alpha: float = setting(1.0, "stage 2: weight of the distillation from the final exit (on the pixels "
                                        "it gets right)", minimum=0.0)
    distill_temperature: float = setting(1.5, "stage 2: distillation temperature", minimum=0.01, maximum=100.0)
    unlabelled: str | None = setting(None, "images folder or video file: label-free stage 2 (self-distillation)")
    pretrained: str | None = setting(None, "safetensors file with torchvision-named weights for the backbone")
    init_model: str | None = setting(None, "trained model folder to start from: stage 1 fine-tunes its backbone, "
                                           "--stage 2 trains heads on it")
    seed: int = setting(0, "random seed", minimum=0, maximum=2**31 - 1)
    device: str = setting("auto", "where the run trains (auto: cuda, mps, cpu)", choices=DEVICE_CHOICES)
    amp: bool = setting(True, "no mixed precision on CUDA", flag="--no-amp", negates=True)
    workers: int = setting(0, "data-loading processes", minimum=0, maximum=64)
    val_limit: int | None = setting(None, "validate on the first N images only", minimum=1, maximum=1_000_000)
    format_version: int = TRAIN_FORMAT_VERSION

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ConfigError(f"--stage {self.stage}: choose 1, 2 or all")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"optimizer '{self.optimizer}': choose {' or '.join(OPTIMIZERS)}")
        for name, option in options():
            option.check(name, getattr(self, name))
        if not 0 <= int(self.swa_epochs) <= int(self.epochs_stage1):
            raise ConfigError(f"swa_epochs must be between 0 and the stage-1 epochs ({self.epochs_stage1}), "
                              f"got {self.swa_epochs}")
        if self.swa_lr is not None and self.swa_lr <= 0:
            raise ConfigError(f"swa_lr must be positive, got {self.swa_lr}")
        self.stage2_head_configs()
        HeadConfig.parse(self.stage1_head)
        try:
            object.__setattr__(self, "hold_out", ",".join(parse_sequences(self.hold_out, "hold_out")))
        except DataError as exc:
            raise ConfigError(str(exc)) from None
        for name in ("train_size", "crop", "eval_size", "scale"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, tuple(value))

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
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: a training config is a JSON object")
        if data.get("format_version") != TRAIN_FORMAT_VERSION:
            raise ConfigError(f"{source}: unknown training-config format version {data.get('format_version')!r}")
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise ConfigError(f"{source}: unknown key(s) {', '.join(unknown)} in a training config "
                              f"(format version {TRAIN_FORMAT_VERSION})")
        try:
            return cls(**data)
        except TypeError as exc:
            raise ConfigError(f"{source}: malformed training config ({exc})") from None

    @classmethod
    def load(cls, path: Path) -> "TrainConfig":
        from core.jsonio import read_json

        return cls.from_json(read_json(path, "run config", max_bytes=1 << 20), source=str(path))


def options() -> list[tuple[str, Option]]:
    """(field name, Option) of every setting, in the order of the fields (format_version has none)."""
    return [(f.name, f.metadata["option"]) for f in fields(TrainConfig) if "option" in f.metadata]


def option(name: str) -> Option:
    """The Option of one setting."""
    return dict(options())[name]


@dataclass(frozen=True)
class FormField:
    """How the GUI's Train form shows one setting; the widget itself follows from the setting's type and
    Option (see the module's docstring), its tooltip is the setting's help and flag.

    ``label``: the row's (a check box's own text; default: the name in words, 'batch_size' -> 'Batch
    size'); ``more``: text the tooltip adds to the help (a negated boolean's: what checked means);
    ``placeholder``: what an empty field or a number's "not given" (None) shows; ``path``: 'folder' or
    'file', a path field with a Browse button (``file_filter``: the file dialog's filter); ``editable``:
    a combo box of names that takes other text too; ``choice_labels``: (choice, as shown) of each choice,
    in the combo box's order. A dict setting (backbone_options) shows one combo box per Entry, labelled by its key."""

    name: str
    label: str = ""
    more: str = ""
    placeholder: str = ""
    path: str | None = None
    file_filter: str = ""
    editable: bool = False
    choice_labels: tuple[tuple[str, str], ...] = ()

    @property
    def text(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()


# The settings of the Train form, section by section ("basic" first, the others collapsible), in order.
# Settings left out (recipes and the command line set them): the form's runs use their defaults.
FORM_SECTIONS: tuple[tuple[str, tuple[FormField, ...]], ...] = (
    ("basic", (
        FormField("data", "Dataset", ": train/ and val/ splits", path="folder",
                  placeholder="labelled dataset folder (CamVid, image/mask, Cityscapes, VOC)"),
        FormField("out", "Run folder", "; it holds run.json, metrics.jsonl, checkpoints/, model/", path="folder",
                  placeholder="new or empty folder for the run"),
        FormField("backbone"),
        FormField("stage", choice_labels=(("all", "all: 1 then 2"), ("1", "1: exit-aware backbone"),
                                          ("2", "2: heads on a frozen backbone"))),
        FormField("epochs_stage1", "Epochs, stage 1"),
        FormField("epochs_stage2", "Epochs, stage 2"),
        FormField("batch_size"),
        FormField("device"),
    )),
    ("advanced", (
        FormField("train_size", more="; empty: native", placeholder="native"),
        FormField("crop"),
        FormField("eval_size", more="; empty: native", placeholder="native"),
        FormField("backbone_options"),
        FormField("optimizer"),
        FormField("lr", "LR, stage 1"),
        FormField("lr_stage2", "LR, stage 2"),
        FormField("loss"),
        FormField("augment", "Augmentation"),
        FormField("stage2_heads", "Stage-2 heads", ", such as fcn-c64-b0,dlb-c128-b1", editable=True),
        FormField("stage1_head", "Stage-1 head"),
        FormField("init_model", "Initial model", "; stage 2 alone: default the open model", path="folder",
                  placeholder="the open model (stage 2 alone)"),
        FormField("val_limit", "Validation images", placeholder="all"),
        FormField("seed"),
        FormField("workers", "Loader workers"),
        FormField("amp", "Mixed precision on CUDA", "float16 autocast on CUDA devices"),
    )),
)


def form_sections() -> tuple[tuple[str, tuple[FormField, ...]], ...]:
    """FORM_SECTIONS: (section, its FormFields) in the Train form's order."""
    return FORM_SECTIONS


def form_fields() -> list[tuple[str, FormField]]:
    """(section, FormField) of every setting the Train form shows, in the form's order."""
    return [(section, item) for section, items in form_sections() for item in items]


@dataclass(frozen=True)
class SettingType:
    """A setting's JSON-able type: int, float, str, bool, dict or tuple (of ``item``s); None allowed or not."""

    kind: type
    optional: bool
    item: type | None = None


def flag_of(name: str) -> str:
    """The `mess train` option of a setting."""
    return option(name).flag or "--" + name.replace("_", "-")


def setting_types() -> dict[str, SettingType]:
    """Field name -> its SettingType, read from TrainConfig's annotations."""
    types = {}
    for name, hint in typing.get_type_hints(TrainConfig).items():
        args = typing.get_args(hint)
        optional = type(None) in args
        if optional:
            hint = next(a for a in args if a is not type(None))
        kind = typing.get_origin(hint) or hint
        item = typing.get_args(hint)[0] if kind is tuple else None
        types[name] = SettingType(kind, optional, item)
    return types


def default_of(name: str):
    """The default value of a setting (data and out: '')."""
    for f in fields(TrainConfig):
        if f.name == name:
            if f.default is not MISSING:
                return f.default
            return f.default_factory() if f.default_factory is not MISSING else ""
    raise KeyError(name)


def differences(values: dict, config: TrainConfig) -> list[tuple[str, object, object]]:
    """(setting, value given, the config's value) for each of ``values`` that differs from ``config``
    (numbers compared to 6 decimals, as a form shows them; sizes as tuples)."""
    import math

    found = []
    for name, value in values.items():
        theirs = getattr(config, name)
        if isinstance(theirs, tuple) and value is not None:
            value = tuple(value)
        if isinstance(value, float) and isinstance(theirs, (int, float)) and not isinstance(theirs, bool):
            if math.isclose(value, theirs, rel_tol=1e-6, abs_tol=1e-6):
                continue
        elif value == theirs:
            continue
        found.append((name, value, theirs))
    return found

"""A training recipe: several `mess train` runs chained into one command.

A recipe is JSON: a format version, settings common to every phase, and a
list of phases, each a set of TrainConfig fields (epochs, sizes, learning
rates, stage...) that override the common ones. Phase k runs in
``OUT/phase-k`` and starts from the model phase k-1 trained (its stage-1
model when it trained stage 1, else its final model), as ``--init-model``
would; the last phase's model is copied to ``OUT/model``. A recipe is how a
long schedule (low resolution first, then full resolution, then weight
averaging, then the exits) becomes one reproducible command:

    mess train --recipe assets/models/default/recipe.json --data DIR --out DIR [--resume]

``--resume`` skips the phases that finished and resumes the one that was
interrupted (from its last checkpoint, as a single run resumes). Under
torchrun every phase runs on all processes in one process group, and only
rank 0 writes files.

    {"format_version": 1, "common": {"backbone": "lraspp_mobilenet_v3_large", "crop": [240, 320]},
     "phases": [{"stage": "1", "epochs_stage1": 60, "train_size": [180, 240], "crop": [180, 240], "lr": 0.05},
                {"stage": "all", "epochs_stage1": 10, "epochs_stage2": 4, "lr": 0.005}]}
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, fields
from pathlib import Path

from core.errors import ConfigError, DataError
from core.jobs import CancelToken, Job, Progress
from core.jsonio import write_json_atomic
from core.train.config import TrainConfig, setting_types
from core.train.distributed import init_distributed
from core.train.trainer import RunFolder, Trainer

RECIPE_FORMAT_VERSION = 1
RECIPE_JSON = "recipe.json"
# Set by the command line (or chained by the recipe itself), never by a phase.
NOT_IN_A_PHASE = ("data", "out", "init_model", "format_version")


@dataclass(frozen=True)
class Recipe:
    phases: tuple[dict, ...]
    format_version: int = RECIPE_FORMAT_VERSION

    @classmethod
    def from_json(cls, data: object, source: str = "recipe") -> "Recipe":
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: a recipe is a JSON object with 'format_version' and 'phases'")
        if data.get("format_version") != RECIPE_FORMAT_VERSION:
            raise ConfigError(f"{source}: unknown recipe format version {data.get('format_version')!r} "
                              f"(this version reads {RECIPE_FORMAT_VERSION})")
        unexpected = sorted(set(data) - {"format_version", "common", "phases"})
        if unexpected:
            raise ConfigError(f"{source}: unknown key(s) {', '.join(unexpected)} (a recipe has format_version, "
                              "common and phases)")
        phases, common = data.get("phases"), data.get("common", {})
        if not isinstance(phases, list) or not phases or not all(isinstance(p, dict) for p in phases):
            raise ConfigError(f"{source}: 'phases' must be a non-empty list of objects")
        if not isinstance(common, dict):
            raise ConfigError(f"{source}: 'common' must be an object of settings shared by every phase")
        known = {f.name for f in fields(TrainConfig)} - set(NOT_IN_A_PHASE)
        for where, settings in (("common", common), *((f"phase {n}", p) for n, p in enumerate(phases, 1))):
            unknown = sorted(set(settings) - known)
            if unknown:
                raise ConfigError(f"{source}: {where} has unknown or reserved setting(s) {', '.join(unknown)}")
        for where, settings in (("common", common), *((f"phase {n}", p) for n, p in enumerate(phases, 1))):
            for name, value in settings.items():
                _check_type(name, value, where, source=source)
        recipe = cls(tuple({**common, **p} for p in phases))
        try:
            configs = recipe.configs("data", "out")   # every phase's values checked before any work starts
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None
        _check_order(configs, source)
        return recipe

    @classmethod
    def load(cls, path: str | Path) -> "Recipe":
        from core.jsonio import read_json

        return cls.from_json(read_json(path, "recipe", max_bytes=1 << 20), str(path))

    def to_json(self) -> dict:
        return {"format_version": self.format_version, "phases": [dict(p) for p in self.phases]}

    def configs(self, data: str, out: str | Path, overrides: dict | None = None) -> list[TrainConfig]:
        """One TrainConfig per phase, each starting from the previous phase's model.

        ``overrides`` (device, workers, amp, ...) apply to every phase."""
        configs: list[TrainConfig] = []
        for number, phase in enumerate(self.phases, 1):
            init = _trained_model(configs[-1]) if configs else None
            try:
                config = TrainConfig(**{**phase, **(overrides or {}), "data": data,
                                        "out": str(phase_folder(out, number)), "init_model": init})
            except TypeError as exc:
                raise ConfigError(f"phase {number}: malformed setting ({exc})") from None
            except ConfigError as exc:
                raise ConfigError(f"phase {number}: {exc}") from None
            configs.append(config)
        return configs


def _check_type(name: str, value: object, where: str, source: str) -> None:
    """One line naming the file, the phase and the setting when a value has the wrong JSON type
    (the type is TrainConfig's annotation of the setting)."""
    kind = setting_types()[name]
    if value is None and kind.optional:
        return
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind.kind is int:
        ok, wanted = isinstance(value, int) and not isinstance(value, bool), "a whole number"
    elif kind.kind is float:
        ok, wanted = number, "a number"
    elif kind.kind is tuple:
        ok = isinstance(value, list) and len(value) == 2 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        wanted = "a list of two numbers"
    elif kind.kind is bool:
        ok, wanted = isinstance(value, bool), "true or false"
    elif kind.kind is dict:
        ok, wanted = isinstance(value, dict), "an object"
    else:
        ok, wanted = isinstance(value, str), "a string"
    if not ok:
        raise ConfigError(f"{source}: {where}: {name} must be {wanted}, got {json.dumps(value)}")


def _check_order(configs: list[TrainConfig], source: str) -> None:
    """What a chain of phases must respect, found before the first phase starts rather than hours in."""
    first = configs[0]
    if first.stage == "2":
        raise ConfigError(f"{source}: phase 1 trains stage 2 only, which needs a trained backbone: "
                          "a recipe starts with a stage 1 or 'all' phase")
    for number, (before, config) in enumerate(zip(configs, configs[1:]), 2):
        if config.stage == "2" and before.stage == "2":
            raise ConfigError(f"{source}: phase {number} trains stage 2 after a stage-2 phase, whose heads it "
                              "would replace: merge the two phases")
        if config.stage != "2" and (config.backbone, config.backbone_options) != (before.backbone,
                                                                                  before.backbone_options):
            raise ConfigError(f"{source}: phase {number} trains backbone {config.backbone} "
                              f"{config.backbone_options}, phase {number - 1} {before.backbone} "
                              f"{before.backbone_options}: a phase fine-tunes the backbone before it")
    for number, config in enumerate(configs, 1):
        if config.unlabelled and config.stage != "2":
            raise ConfigError(f"{source}: phase {number}: unlabelled footage trains stage 2 only")


def phase_folder(out: str | Path, number: int) -> Path:
    return Path(out) / f"phase-{number}"


def _trained_model(config: TrainConfig) -> str:
    """The model folder a phase leaves for the next one: its stage-1 model when it trained stage 1
    (the backbone and final head; stage-2 heads of an 'all' phase are not carried on), else its model."""
    folder = RunFolder(Path(config.out))
    return str(folder.stage1_model if config.stage in ("1", "all") else folder.model)


def _final_model(config: TrainConfig) -> Path:
    """The model folder a phase ends with."""
    folder = RunFolder(Path(config.out))
    return folder.stage1_model if config.stage == "1" else folder.model


def _phase_finished(config: TrainConfig) -> bool:
    final = _final_model(config)
    return (final / "model.json").is_file() and (final / "weights.safetensors").is_file()


def _clear_unstarted(folder: Path) -> None:
    """A phase folder without run.json that holds no file (a kill between its first mkdir and its
    run.json): the phase never started, so the folder goes and the phase starts afresh."""
    if folder.is_dir() and not (folder / "run.json").exists() and not any(p.is_file() for p in folder.rglob("*")):
        shutil.rmtree(folder)


def _forget_new_run(root: Path, created_root: bool) -> None:
    """Undo what a refused new recipe run wrote: recipe.json, an empty phase-1 folder, a new --out."""
    (root / RECIPE_JSON).unlink(missing_ok=True)
    _clear_unstarted(phase_folder(root, 1))
    if created_root and root.is_dir() and not any(root.iterdir()):
        root.rmdir()


def prepare_recipe_run(recipe: Recipe, data: str, out: str | Path, resume: bool) -> Recipe:
    """Check --out before any work; on resume the stored recipe wins (as run.json does for a run)."""
    root = Path(out)
    stored = root / RECIPE_JSON
    if root.exists() and not root.is_dir():
        raise ConfigError(f"{root}: is a file; --out must be a new or empty folder")
    if resume:
        if not stored.is_file():
            raise ConfigError(f"{root}: no recipe run to resume (no {RECIPE_JSON})")
        return Recipe.load(stored)
    if stored.is_file():
        raise ConfigError(f"{root}: holds another recipe run ({RECIPE_JSON}); use --resume to continue it, "
                          "or another --out")
    if root.exists() and any(root.iterdir()):
        raise ConfigError(f"{root}: folder is not empty; choose an empty or new --out")
    return recipe


def run_recipe(recipe: Recipe, data: str, out: str | Path, resume: bool = False, overrides: dict | None = None,
               cancel: CancelToken | None = None) -> Job[Path]:
    """Job: every phase in turn (finished ones skipped on resume); returns ``out``/model."""
    cancel = cancel or CancelToken()
    recipe = prepare_recipe_run(recipe, data, out, resume=resume)
    configs = recipe.configs(data, out, overrides)
    root = Path(out)
    # One process group for every phase under torchrun: each rank checks --out before rank 0
    # writes anything, and every phase starts on all ranks together, from files rank 0 finished.
    ctx = init_distributed(configs[0].device)
    created_root = not root.exists()
    try:
        ctx.barrier()
        if ctx.is_main and not resume:
            root.mkdir(parents=True, exist_ok=True)
            write_json_atomic(root / RECIPE_JSON, recipe.to_json())
        for number, config in enumerate(configs, 1):
            ctx.barrier()
            if ctx.is_main and resume:
                _clear_unstarted(Path(config.out))
            ctx.barrier()
            finished = resume and _phase_finished(config)
            again = resume and RunFolder(Path(config.out)).config.is_file()
            ctx.barrier()
            what = f"phase {number}/{len(configs)} (stage {config.stage})"
            if finished:
                yield Progress("phase", number, len(configs), message=f"{what}: finished before")
                continue
            yield Progress("phase", number, len(configs), message=f"{what} in {config.out}")
            try:
                yield from Trainer(config, resume=again, cancel=cancel, context=ctx).run()
            except (ConfigError, DataError) as exc:
                raise type(exc)(f"phase {number}: {exc}") from None
        ctx.barrier()
        model = root / "model"
        if ctx.is_main:
            staging = root / "model.partial"
            shutil.rmtree(staging, ignore_errors=True)
            shutil.copytree(_final_model(configs[-1]), staging)
            shutil.rmtree(model, ignore_errors=True)
            staging.rename(model)
        ctx.barrier()
    except (ConfigError, DataError):
        if ctx.is_main and not resume and not RunFolder(phase_folder(out, 1)).config.is_file():
            _forget_new_run(root, created_root)     # refused before any training: --out as it was
        raise
    finally:
        ctx.close()
    return model

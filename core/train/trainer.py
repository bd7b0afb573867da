"""Two-stage MESS training as a resumable, cancellable job (method section 3).

Stage 1 (exit-aware backbone training): the whole network learns from the
final exit plus ONE early exit per iteration, rotating over the candidate
points, each with a lightweight head; the stage-1 heads are dropped after.

Stage 2 (frozen backbone): backbone and final head are frozen (BatchNorm
statistics too); many heads from the design space at every candidate point
train together from one backbone pass per batch, with positive-filtering
distillation from the final exit (or, with unlabelled data, self-distillation
alone). Per-head validation mIoU goes into the model's model.json.

A run folder holds run.json (the resolved config), metrics.jsonl (one JSON
line per event), checkpoints/ (one per stage, rewritten atomically every
epoch), stage1-model/ and model/ (model folders). ``resume`` continues a run
killed at any moment from its last checkpoint, and ends with the same weights
as a run that was never interrupted.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from core.data import CLASS_SETS, ClassSet, load_class_set
from core.errors import ConfigError, DataError
from core.evaluation import exit_confusions
from core.jobs import CancelToken, Cancelled, Job, Progress
from core.models import BACKBONES, ExitHeadSpec, HeadConfig, MultiExitNet, convert_backbone, load_model, save_model
from core.jsonio import write_json_atomic
from core.models.spec import FINAL_EXIT
from core.train.checkpoint import load_checkpoint, load_extra, read_info, save_checkpoint
from core.train.config import TrainConfig
from core.train.data import (count_unlabelled, label_counts, labelled_training_set, make_loader, training_set,
                             validation_set)
from core.train.distributed import DistContext, init_distributed
from core.train.losses import (
    SEGMENTATION_LOSSES,
    class_weights_from_counts,
    positive_filtering_loss,
    self_distillation_loss,
)
from core.train.averaging import WeightAverage
from core.train.pace import StagePace, loss_points
from core.train.records import parse_record, read_class_weights, read_records
from core.train.schedule import averaging_lr

RUN_JSON = "run.json"
METRICS = "metrics.jsonl"


@dataclass(frozen=True)
class RunFolder:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / RUN_JSON

    @property
    def metrics(self) -> Path:
        return self.root / METRICS

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    def checkpoint(self, stage: int) -> Path:
        return self.checkpoints / f"stage{stage}.safetensors"

    @property
    def stage1_model(self) -> Path:
        return self.root / "stage1-model"

    @property
    def model(self) -> Path:
        return self.root / "model"


def _forget_failed_start(folder: RunFolder, remove_root: bool) -> None:
    """Remove what a new run wrote before it failed without saving anything (a bad --pretrained, a bad
    image): --out is then as it was, free for the corrected command (it used to 'hold another run')."""
    if not _saved_nothing(folder):
        return
    for leftover in (folder.config, folder.metrics, folder.root / "class_weights.json"):
        leftover.unlink(missing_ok=True)
    for empty in (folder.checkpoints, folder.root) if remove_root else (folder.checkpoints,):
        if empty.is_dir() and not any(empty.iterdir()):
            empty.rmdir()


def _saved_nothing(folder: RunFolder) -> bool:
    """A run folder whose run never got as far as a checkpoint or a model (it failed at the start)."""
    checkpoints = [p for p in folder.checkpoints.glob("*") if not p.name.startswith(".")] \
        if folder.checkpoints.is_dir() else []
    return not checkpoints and not folder.model.exists() and not folder.stage1_model.exists()


def prepare_run(config: TrainConfig, resume: bool, given: dict | None = None,
                override: bool = False) -> tuple[TrainConfig, RunFolder]:
    """Check the output folder before any work; on resume, the stored config wins.

    ``given``: the settings the user gave explicitly this time (name -> value). Resuming with one
    that differs from the stored run is refused in one line, unless ``override`` (then they win).
    """
    folder = RunFolder(Path(config.out))
    if folder.root.exists() and not folder.root.is_dir():
        raise ConfigError(f"{folder.root}: is a file; --out must be a new or empty folder")
    if resume:
        if not folder.config.is_file():
            raise ConfigError(f"{folder.root}: no run to resume (no {RUN_JSON})")
        stored = replace(TrainConfig.load(folder.config), out=str(folder.root))
        differing = {k: v for k, v in (given or {}).items() if k != "out" and getattr(stored, k, v) != v}
        if differing and not override:
            name, value = next(iter(differing.items()))
            option = "--" + name.replace("_", "-")
            raise ConfigError(f"{folder.root}: the stored run has {option} {getattr(stored, name)!r}, not {value!r}"
                              f"{f' (and {len(differing) - 1} more)' if len(differing) > 1 else ''}; leave it out "
                              f"to resume as it was, or add --override to resume with the new value")
        return replace(stored, **differing), folder
    if folder.config.is_file():
        raise ConfigError(f"{folder.root}: holds another run ({RUN_JSON}); use --resume to continue it, "
                          "or another --out")
    if folder.root.exists() and any(folder.root.iterdir()):
        raise ConfigError(f"{folder.root}: folder is not empty; choose an empty or new --out")
    return config, folder


def _class_set(config: TrainConfig, dataset_classes: ClassSet | None) -> ClassSet:
    if config.classes:
        return CLASS_SETS.get(config.classes) if config.classes in CLASS_SETS else load_class_set(config.classes)
    if dataset_classes is None:
        raise ConfigError("no class set: give --classes")
    return dataset_classes


def _load_backbone_from(net: MultiExitNet, folder: Path) -> None:
    """Start stage 1 from a trained model's backbone and final head (fine-tuning)."""
    source, _ = load_model(folder)
    if source.spec.backbone != net.spec.backbone or source.spec.backbone_options != net.spec.backbone_options:
        raise ConfigError(f"{folder}: its backbone is {source.spec.backbone} {source.spec.backbone_options}, "
                          f"the run trains {net.spec.backbone} {net.spec.backbone_options}")
    net.segments.load_state_dict(source.segments.state_dict())
    net.final_head.load_state_dict(source.final_head.state_dict())


class MetricsLog:
    """metrics.jsonl: one JSON object per line; trimmed back to the checkpoint on resume."""

    def __init__(self, path: Path, enabled: bool) -> None:
        self.path = path
        self.enabled = enabled

    def write(self, record: dict) -> None:
        if self.enabled:
            with open(self.path, "a") as handle:
                handle.write(json.dumps(record) + "\n")
                handle.flush()

    def trim(self, keep) -> None:
        if not self.enabled or not self.path.is_file():
            return
        lines = [line for line in self.path.read_text().splitlines() if line.strip()]
        kept = [line for line in lines if (record := parse_record(line)) is not None and keep(record)]
        self.path.write_text("".join(line + "\n" for line in kept))


def _build_optimizer(config: TrainConfig, params: list[nn.Parameter], lr: float) -> torch.optim.Optimizer:
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(params, lr=lr, momentum=config.momentum, weight_decay=config.weight_decay)


def _set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def _validate(net: MultiExitNet, config: TrainConfig, device: torch.device, cancel: CancelToken) -> dict[str, float]:
    mean, std = net.spec.mean, net.spec.std
    dataset = validation_set(config, mean, std)
    if dataset is None or len(dataset) == 0:
        return {}
    matrices = yield from exit_confusions(net, dataset, device, cancel=cancel)
    return {exit_id: 100.0 * cm.mean_iou() for exit_id, cm in matrices.items()}


def _check_validation_frames(config: TrainConfig) -> None:
    """Read every validation frame and its label once (DataError naming a bad one). The first
    validation comes after the first epoch's checkpoint, so a bad frame found there used to leave a
    checkpoint behind: --out then 'held another run' for the corrected command."""
    dataset = validation_set(config, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    for index in range(len(dataset) if dataset is not None else 0):
        dataset[index]


class Trainer:
    """One training run; ``run()`` is the job."""

    def __init__(self, config: TrainConfig, resume: bool = False, cancel: CancelToken | None = None,
                 context: DistContext | None = None, given: dict | None = None, override: bool = False) -> None:
        self.config, self.folder = prepare_run(config, resume, given, override=override)
        self.resume = resume
        self._rewrite_config = bool(resume and override and given)   # the new values are the run's from now on
        self.cancel = cancel or CancelToken()
        self.ctx = context or init_distributed(self.config.device)
        self._owns_context = context is None   # a context given by the caller (a recipe) stays open
        self.device = self.ctx.device
        self.log = MetricsLog(self.folder.metrics, self.ctx.is_main)
        self.amp = bool(self.config.amp and self.device.type == "cuda")
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)

    # --- set-up ----------------------------------------------------------------------
    def _check_inputs(self) -> ClassSet:
        """Every check that can fail on the user's input, before any work starts."""
        config = self.config
        if not config.data and not config.unlabelled:
            raise ConfigError("give --data DIR (labelled) or --unlabelled DIR|VIDEO")
        if config.unlabelled and config.runs_stage(1):
            raise ConfigError("--unlabelled trains stage 2 only (self-distillation): "
                              "use --stage 2 with --init-model DIR")
        if config.runs_stage(2) and not config.runs_stage(1) and not config.init_model:
            raise ConfigError("--stage 2 needs --init-model DIR (a model folder whose backbone is trained)")
        init_spec = load_model(config.init_model)[0].spec if config.init_model else None
        init_classes = init_spec.classes if init_spec else None
        if init_spec and config.runs_stage(1):
            options = BACKBONES.get(config.backbone).resolve_options(dict(config.backbone_options))
            if init_spec.backbone != config.backbone or init_spec.backbone_options != options:
                raise ConfigError(f"{config.init_model}: its backbone is {init_spec.backbone} "
                                  f"{init_spec.backbone_options}, the run trains {config.backbone} {options}")
        dataset_classes = None
        if not config.unlabelled:
            labelled = labelled_training_set(config)
            if len(labelled) == 0:
                raise DataError(f"{config.data}: the '{config.train_split}' split is empty")
            dataset_classes = labelled.classes
        elif not Path(config.unlabelled).exists():
            raise DataError(f"{config.unlabelled}: not found")
        if config.runs_stage(1):
            BACKBONES.get(config.backbone).resolve_options(dict(config.backbone_options))
        classes = _class_set(config, dataset_classes or init_classes)
        count = len(labelled) if not config.unlabelled else count_unlabelled(Path(config.unlabelled))
        if count < config.batch_size * self.ctx.world_size:
            source = config.unlabelled or f"{config.data} ({config.train_split})"
            raise DataError(f"{source}: {count} training images, fewer than one batch "
                            f"({config.batch_size} x {self.ctx.world_size} processes)")
        for source, other in ((config.data, dataset_classes), (config.init_model, init_classes)):
            if other is not None and other.num_classes != classes.num_classes:
                raise DataError(f"{source}: has {other.num_classes} classes, the run uses {classes.num_classes}")
        _check_validation_frames(config)
        return classes

    def _write_run_json(self) -> None:
        self.ctx.barrier()                      # every rank has checked --out before rank 0 writes in it
        if self.ctx.is_main:
            from core.fileio import clean_stale_temps

            for folder in (self.folder.root, self.folder.checkpoints,    # what a killed run left half-written
                           self.folder.stage1_model, self.folder.model):
                clean_stale_temps(folder)
        if self.ctx.is_main and self._rewrite_config:
            write_json_atomic(self.folder.config, self.config.to_json())
        if self.ctx.is_main and not self.resume:
            self.folder.root.mkdir(parents=True, exist_ok=True)
            self.folder.checkpoints.mkdir(exist_ok=True)
            write_json_atomic(self.folder.config, self.config.to_json())
        self.ctx.barrier()

    def _class_weights(self, classes: ClassSet) -> torch.Tensor | None:
        if self.config.loss == "ce" or self.config.unlabelled:
            return None
        cache = self.folder.root / "class_weights.json"
        cached = read_class_weights(cache, classes.num_classes)     # a damaged cache is counted again
        if cached is not None:
            return torch.tensor(cached, dtype=torch.float32, device=self.device)
        counts = label_counts(labelled_training_set(self.config))
        weights = class_weights_from_counts(counts)
        if self.ctx.is_main:
            write_json_atomic(cache, {"pixel_counts": counts.tolist(), "weights": weights.tolist()})
        return weights.to(self.device)

    # --- the job ---------------------------------------------------------------------
    def run(self) -> Job[Path]:
        """Job: train the stages the config asks for; returns the final model folder."""
        SEGMENTATION_LOSSES.get(self.config.loss)
        classes = self._check_inputs()
        result = self.folder.model
        existed = self.folder.root.exists()
        self._write_run_json()
        if self.resume:
            yield Progress("resume", 0, 1, message=f"resuming {self.folder.root}")
        torch.manual_seed(self.config.seed)
        try:
            if self.config.runs_stage(1):
                result = yield from self._stage1(classes)
            if self.config.runs_stage(2):
                result = yield from self._stage2(classes)
        except Cancelled:
            raise                     # a cancelled run stays resumable, as the user asked
        except Exception:
            if not self.resume and self.ctx.is_main:
                _forget_failed_start(self.folder, remove_root=not existed)
            raise
        finally:
            if self._owns_context:
                self.ctx.close()
        return result

    def _restore(self, stage: int, net: nn.Module, optimizer: torch.optim.Optimizer) -> tuple[int, int]:
        """(next epoch, global step) from the stage's checkpoint, or (0, 0)."""
        path = self.folder.checkpoint(stage)
        epoch, step = 0, 0
        if self.resume and path.is_file():
            state, info = load_checkpoint(path, optimizer, self.scaler)
            net.load_state_dict(state)
            epoch, step = int(info["epoch"]) + 1, int(info["step"])
        if self.resume:
            # Lines written after the checkpoint (a kill between the two) are dropped: they are redone.
            self.log.trim(lambda r: r.get("stage", 0) < stage
                          or (r.get("stage") == stage and r.get("epoch", -1) < epoch))
        return epoch, step

    def _stage_done(self, stage: int, epochs: int) -> bool:
        path = self.folder.checkpoint(stage)
        if not (self.resume and path.is_file()):
            return False
        return int(read_info(path)["epoch"]) + 1 >= epochs and (
            self.folder.stage1_model if stage == 1 else self.folder.model).joinpath("model.json").is_file()

    def _loop(self, stage: int, net: MultiExitNet, trainable: nn.Module, optimizer: torch.optim.Optimizer,
              epochs: int, base_lr: float, dataset, step_loss, average_epochs: int = 0,
              average_lr: float = 0.0) -> Job[dict[str, float] | None]:
        """The epoch/step loop shared by both stages; returns the last validation (rank 0), if it ran one.

        With ``average_epochs`` N, the last N epochs run at the constant ``average_lr`` and the
        network ends with the average of its weights at those epochs' ends (SWA), validated again."""
        config = self.config
        loader, sampler = make_loader(dataset, config.batch_size, config.seed, rank=self.ctx.rank,
                                      world_size=self.ctx.world_size, workers=config.workers)
        steps_per_epoch = len(loader)
        total_steps = epochs * steps_per_epoch
        start_epoch, step = self._restore(stage, net, optimizer)
        path = self.folder.checkpoint(stage)
        average = WeightAverage.from_tensors(load_extra(path)) if self.resume and path.is_file() else WeightAverage()
        val = yield from self._validate_pending(stage, net, epochs, total_steps=total_steps)
        pace = StagePace()          # this session's steps only: a resumed run's earlier epochs do not count
        for epoch in range(start_epoch, epochs):
            sampler.set_epoch(epoch)
            if hasattr(dataset, "set_epoch"):
                dataset.set_epoch(epoch)
            self._train_mode(stage, net)
            losses, seen, started = [], 0, time.monotonic()
            pace.epoch_started()
            for batch in loader:
                if self.ctx.broadcast_flag(self.cancel.cancelled):
                    raise Cancelled("cancelled")
                lr = averaging_lr(base_lr, step, total_steps, warmup_steps=config.warmup_iters,
                                  average_steps=average_epochs * steps_per_epoch, average_lr=average_lr)
                _set_lr(optimizer, lr)
                image = batch["image"].to(self.device, non_blocking=True)
                mask = batch["mask"].to(self.device, non_blocking=True) if "mask" in batch else None
                with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.amp):
                    loss, parts = step_loss(trainable, image, mask, step)
                optimizer.zero_grad(set_to_none=True)
                self.scaler.scale(loss).backward()
                self.scaler.step(optimizer)
                self.scaler.update()
                step += 1
                pace.step_done()
                seen += image.shape[0] * self.ctx.world_size
                losses.append(float(loss.detach()))
                elapsed = time.monotonic() - started
                yield Progress(f"stage{stage}", step, total_steps, message=f"epoch {epoch + 1}/{epochs}", metrics={
                    "stage": stage, "epoch": epoch + 1, "epochs": epochs, "step": step, "loss": losses[-1],
                    **parts, "lr": lr, "images_per_s": seen / elapsed if elapsed > 0 else None,
                    "eta_s": pace.seconds_left(total_steps - step, validations_left=epochs - epoch)})
            points, every = loss_points(losses)
            record = {"event": "epoch", "stage": stage, "epoch": epoch, "step": step, "loss": float(np.mean(losses)),
                      "lr": lr, "seconds": time.monotonic() - started,
                      "images_per_s": seen / max(1e-9, time.monotonic() - started),
                      # the loss curve of the epoch, so a view of the run draws it after a resume or a restart
                      "steps_in_epoch": len(losses), "step_losses": points, "steps_per_loss_point": every}
            if epoch >= epochs - average_epochs:
                average.update(net.state_dict())
            if self.ctx.is_main:
                # The epoch's training is kept before validating: a cancel or kill during validation loses
                # nothing but the validation, which a resume redoes (see _validate_pending).
                save_checkpoint(path, net.state_dict(), optimizer,
                                info={"stage": stage, "epoch": epoch, "step": step, "record": record},
                                scaler=self.scaler, extra=average.tensors())
                validating = time.monotonic()
                val = yield from self._validate_and_log(stage, net, record, epochs=epochs, step=step,
                                                        total_steps=total_steps)
                pace.validated(time.monotonic() - validating)
            self.ctx.barrier()
        if average.count:
            net.load_state_dict(average.state)
            val = None
            if self.ctx.is_main:
                val = yield from _validate(net, config, self.device, cancel=self.cancel)
                yield Progress(f"stage{stage}", step, total_steps,
                               message=f"weights of {average.count} epochs averaged",
                               metrics={"stage": stage, "epoch": epochs, "epochs": epochs, "val_miou": val,
                                        "averaged": average.count, "split": config.validation_split})
                # "epoch": a resume that comes back here trims this line and writes it again.
                self.log.write({"event": "average", "stage": stage, "epoch": epochs, "epochs_averaged": average.count,
                                "step": step, "val_miou": val})
        return val

    def _validate_and_log(self, stage: int, net: MultiExitNet, record: dict, epochs: int, step: int,
                          total_steps: int) -> Job[dict[str, float]]:
        val = yield from _validate(net, self.config, self.device, cancel=self.cancel)
        record = {**record, "val_miou": val}
        yield Progress(f"stage{stage}", step, total_steps, message=f"epoch {record['epoch'] + 1}/{epochs} validated",
                       metrics={"stage": stage, "epoch": record["epoch"] + 1, "epochs": epochs, "val_miou": val,
                                "split": self.config.validation_split})
        self.log.write(record)
        return val

    def _validate_pending(self, stage: int, net: MultiExitNet, epochs: int, total_steps: int) -> Job[dict | None]:
        """On resume: the checkpointed epoch's metrics line, if a kill or cancel came during its validation."""
        path = self.folder.checkpoint(stage)
        if not (self.resume and self.ctx.is_main and path.is_file()):
            return None
        info = read_info(path)
        logged = any(record.get("stage") == stage and record.get("epoch") == info["epoch"]
                     for record in read_records(self.folder.metrics))
        if logged or "record" not in info:
            return None
        val = yield from self._validate_and_log(stage, net, info["record"], epochs=epochs, step=info["step"],
                                                total_steps=total_steps)
        return val

    def _train_mode(self, stage: int, net: MultiExitNet) -> None:
        net.train()
        if stage == 2:
            net.segments.eval()
            net.final_head.eval()

    def _wrap(self, module: nn.Module, find_unused: bool) -> nn.Module:
        if not self.ctx.distributed:
            return module
        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(module, device_ids=ids, find_unused_parameters=find_unused)

    # --- stage 1 ---------------------------------------------------------------------
    def _stage1(self, classes: ClassSet) -> Job[Path]:
        config = self.config
        head = HeadConfig.parse(config.stage1_head)
        net = convert_backbone(config.backbone, classes, [head], options=dict(config.backbone_options),
                               weights=config.pretrained, input_size=config.eval_size, seed=config.seed).to(self.device)
        if config.init_model:
            _load_backbone_from(net, Path(config.init_model))
        if self._stage_done(1, config.epochs_stage1):
            return self.folder.stage1_model
        dataset = training_set(config, classes, net.spec.mean, std=net.spec.std)
        weights = self._class_weights(classes)
        seg_loss = SEGMENTATION_LOSSES.get(config.loss)
        early = net.exit_ids()[:-1]
        optimizer = _build_optimizer(config, list(net.parameters()), config.lr)
        trainable = self._wrap(net, find_unused=True)
        ignore = classes.ignore_index

        def step_loss(model, image, mask, step):
            chosen = early[step % len(early)]
            out = model(image, exits=[FINAL_EXIT, chosen])
            final = seg_loss(out[FINAL_EXIT].float(), mask, ignore, weights)
            side = seg_loss(out[chosen].float(), mask, ignore, weights)
            return final + config.stage1_early_weight * side, {"loss_final": float(final.detach()),
                                                                "loss_early": float(side.detach()),
                                                                "early_exit": chosen}

        val = yield from self._loop(1, net, trainable, optimizer=optimizer, epochs=config.epochs_stage1,
                                    base_lr=config.lr, dataset=dataset, step_loss=step_loss,
                                    average_epochs=config.swa_epochs, average_lr=config.averaging_lr)
        if self.ctx.is_main:
            if val is None:
                val = yield from _validate(net, config, self.device, cancel=self.cancel)
            net.remove_heads(early)
            val = {exit_id: v for exit_id, v in val.items() if exit_id not in early}
            save_model(net, self.folder.stage1_model, provenance=self._provenance(1),
                       metrics={"val_miou": val, "split": config.validation_split})
        self.ctx.barrier()
        return self.folder.stage1_model

    # --- stage 2 ---------------------------------------------------------------------
    def _stage2(self, classes: ClassSet) -> Job[Path]:
        config = self.config
        source = Path(config.init_model) if config.init_model and not config.runs_stage(1) else self.folder.stage1_model
        net, info = load_model(source, self.device)
        if net.spec.exit_heads:
            net.remove_heads(net.spec.exit_ids())
        torch.manual_seed(config.seed + 2)
        net.add_heads(ExitHeadSpec(point, head) for point in net.exit_points for head in config.stage2_head_configs())
        net = net.to(self.device)
        if self._stage_done(2, config.epochs_stage2):
            return self.folder.model
        for param in list(net.segments.parameters()) + list(net.final_head.parameters()):
            param.requires_grad_(False)
        dataset = training_set(config, classes, net.spec.mean, std=net.spec.std)
        weights = self._class_weights(classes)
        seg_loss = SEGMENTATION_LOSSES.get(config.loss)
        early = net.exit_ids()[:-1]
        optimizer = _build_optimizer(config, list(net.heads.parameters()), config.lr_stage2)
        trainable = self._wrap(net, find_unused=False)
        ignore = classes.ignore_index
        alpha, temperature = config.distill_alpha, config.distill_temperature

        def step_loss(model, image, mask, step):
            out = model(image)
            teacher = out[FINAL_EXIT].detach().float()
            total = image.new_zeros(())
            for exit_id in early:
                student = out[exit_id].float()
                if mask is None:
                    total = total + self_distillation_loss(student, teacher, temperature)
                else:
                    total = total + positive_filtering_loss(student, teacher, mask, ignore_index=ignore, alpha=alpha,
                                                            temperature=temperature, weight=weights, seg_loss=seg_loss)
            return total, {"loss_per_head": float(total.detach()) / len(early)}

        val = yield from self._loop(2, net, trainable, optimizer=optimizer, epochs=config.epochs_stage2,
                                    base_lr=config.lr_stage2, dataset=dataset, step_loss=step_loss)
        if self.ctx.is_main:
            if val is None:
                val = yield from _validate(net, config, self.device, cancel=self.cancel)
            metrics = {"val_miou": val, "split": config.validation_split, "eval_size": config.eval_size}
            save_model(net, self.folder.model, provenance={**self._provenance(2), "stage1": info.provenance},
                       metrics=metrics)
        self.ctx.barrier()
        return self.folder.model

    def _provenance(self, stage: int) -> dict:
        return {"created_by": "mess train", "stage": stage, "trained": True, "run": str(self.folder.root),
                "config": self.config.to_json(), "processes": self.ctx.world_size, "device": str(self.device)}

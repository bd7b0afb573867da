"""A training run's history for views: curve points and log lines (Qt-free).

The GUI's Train page (and a notebook) feeds it the Progress events of a running
``Trainer`` job and the records of a run's ``metrics.jsonl``; it keeps the loss
per step (seen live, or kept in an epoch's metrics line, so a resumed or reopened
run draws the same curve), the epoch mean losses of runs written before step
losses were kept, and the validation mIoU per exit and epoch, on one x axis: epochs since the start of the run (stage 2
continues after stage 1's last epoch). ``epoch_line`` writes the one-line
summary of an epoch as ``mess train`` prints it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from core.jobs import Progress
from core.models.spec import FINAL_EXIT
from core.train.config import TrainConfig
from core.train.records import read_records
from core.train.trainer import METRICS, RUN_JSON


def read_metrics(path: str | Path) -> list[dict]:
    """The records of a metrics.jsonl, oldest first ([] when there is none).

    A line that does not parse (a run killed while writing it) is skipped."""
    return read_records(path)


def smooth(values: list[float], weight: float = 0.9) -> list[float]:
    """Exponential moving average, debiased at the start (as TensorBoard smooths curves)."""
    out, last, norm = [], 0.0, 0.0
    for value in values:
        last = weight * last + (1.0 - weight) * value
        norm = weight * norm + (1.0 - weight)
        out.append(last / norm)
    return out


def best_early_exit(val: dict[str, float]) -> tuple[str, float] | None:
    """(exit id, mIoU) of the best exit other than the final one, if any."""
    early = [(k, v) for k, v in val.items() if k != FINAL_EXIT and v is not None]
    return max(early, key=lambda item: item[1]) if early else None


def epoch_line(stage: int, epoch: int, epochs: int | None, val: dict[str, float] | None, loss: float | None = None,
               seconds: float | None = None, images_per_s: float | None = None, averaged: int | None = None) -> str:
    """One line about a finished epoch (1-based), as `mess train` prints it, with the extras known;
    with ``averaged``, about the stage's weights averaged over that many epochs instead."""
    text = (f"stage {stage}, weights of the last {averaged} epochs averaged:" if averaged
            else f"stage {stage} epoch {epoch}/{epochs if epochs else '?'}:")
    parts = []
    if loss is not None:
        parts.append(f"loss {loss:.4f}")
    final = (val or {}).get(FINAL_EXIT)
    best = best_early_exit(val or {})
    if final is None and best is None:
        parts.append("no validation")
    else:
        if final is not None:
            parts.append(f"val mIoU final {final:.2f}")
        if best is not None:
            parts.append(f"best early exit {best[1]:.2f} ({best[0]})")
    text += " " + ", ".join(parts)
    timing = [f"{seconds:.1f} s"] if seconds is not None else []
    if images_per_s:
        timing.append(f"{images_per_s:.1f} img/s")
    return text + (f" [{', '.join(timing)}]" if timing else "")


@dataclass(frozen=True)
class RunInfo:
    """What a run folder holds: its config and, when it finished, its trained model folder."""

    folder: Path
    config: TrainConfig
    result: Path | None

    @property
    def finished(self) -> bool:
        return self.result is not None

    @property
    def metrics(self) -> Path:
        return self.folder / METRICS


def model_folder_of(config: TrainConfig) -> Path:
    """The model folder a run ends with: stage1-model for a stage-1 run, model otherwise."""
    return Path(config.out) / ("stage1-model" if config.stage == "1" else "model")


def inspect_run(folder: str | Path) -> RunInfo | None:
    """The run in ``folder`` (None when it holds no run.json); ConfigError for an unreadable run.json."""
    folder = Path(folder)
    if not (folder / RUN_JSON).is_file():
        return None
    config = replace(TrainConfig.load(folder / RUN_JSON), out=str(folder))
    model = model_folder_of(config)
    return RunInfo(folder, config, model if (model / "model.json").is_file() else None)


@dataclass
class TrainingHistory:
    """Curve points of one run, on the axis 'epochs since the run started'.

    ``version`` grows with every change, so a view redraws only when it moved."""

    epochs_stage1: int = 1
    epochs_stage2: int = 1
    runs_stage1: bool = True
    runs_stage2: bool = True
    steps: dict[int, list[tuple[int, float, float]]] = field(default_factory=dict)   # stage -> (step, x, loss)
    epoch_losses: dict[int, dict[int, float]] = field(default_factory=dict)          # stage -> epoch -> mean
    val: dict[tuple[int, str], dict[int, float]] = field(default_factory=dict)       # (stage, exit) -> epoch -> mIoU
    exits: list[str] = field(default_factory=list)                                   # in first-seen order
    version: int = 0
    _epoch_steps: dict[tuple[int, int], dict[int, float]] = field(default_factory=dict)
    _epoch_speed: dict[tuple[int, int], float] = field(default_factory=dict)

    @classmethod
    def for_config(cls, config: TrainConfig) -> "TrainingHistory":
        return cls(config.epochs_stage1, config.epochs_stage2, config.runs_stage(1), runs_stage2=config.runs_stage(2))

    def offset(self, stage: int) -> int:
        """Epochs before this stage's first one on the common axis."""
        return self.epochs_stage1 if stage == 2 and self.runs_stage1 else 0

    def epochs(self, stage: int) -> int:
        return self.epochs_stage1 if stage == 1 else self.epochs_stage2

    def total_epochs(self) -> int:
        """The length of the run's axis: the epochs of the stages it runs."""
        return (self.epochs_stage1 if self.runs_stage1 else 0) + (self.epochs_stage2 if self.runs_stage2 else 0)

    # --- input ----------------------------------------------------------------------
    def add_progress(self, event: Progress) -> str | None:
        """Take one Trainer event; returns the log line of an epoch's validation, else None."""
        metrics = event.metrics
        stage = metrics.get("stage")
        if stage not in (1, 2):
            return None
        if "loss" in metrics and "step" in metrics:
            self._add_step(stage, int(metrics["epoch"]), int(metrics["epochs"]), step=int(metrics["step"]),
                           total=event.total, loss=float(metrics["loss"]), images_per_s=metrics.get("images_per_s"))
            return None
        if "val_miou" in metrics:
            epoch = int(metrics["epoch"])
            self._add_val(stage, epoch, metrics["val_miou"] or {})
            losses = self._epoch_steps.get((stage, epoch))
            loss = sum(losses.values()) / len(losses) if losses else None
            if metrics.get("averaged"):
                return epoch_line(stage, epoch, metrics.get("epochs"), val=metrics["val_miou"],
                                  averaged=metrics["averaged"])
            return epoch_line(stage, epoch, metrics.get("epochs"), val=metrics["val_miou"], loss=loss,
                              images_per_s=self._epoch_speed.get((stage, epoch)))
        return None

    def add_record(self, record: dict) -> str | None:
        """Take one metrics.jsonl record (an earlier epoch); returns its log line."""
        if record.get("stage") not in (1, 2):
            return None
        if record.get("event") == "average":       # the stage's averaged weights: its last point
            stage = int(record["stage"])
            self._add_val(stage, self.epochs(stage), record.get("val_miou") or {})
            return epoch_line(stage, self.epochs(stage), self.epochs(stage), val=record.get("val_miou"),
                              averaged=record.get("epochs_averaged"))
        if record.get("event") != "epoch":
            return None
        stage, epoch = int(record["stage"]), int(record["epoch"]) + 1
        if not self._add_recorded_steps(stage, epoch, record) and record.get("loss") is not None:
            self.epoch_losses.setdefault(stage, {})[epoch] = float(record["loss"])   # a run written before
        self._add_val(stage, epoch, record.get("val_miou") or {})
        return epoch_line(stage, epoch, self.epochs(stage), val=record.get("val_miou"), loss=record.get("loss"),
                          seconds=record.get("seconds"), images_per_s=record.get("images_per_s"))

    def load_records(self, records: list[dict]) -> list[str]:
        """Take a run's earlier records; returns their log lines."""
        return [line for line in (self.add_record(r) for r in records) if line is not None]

    def _add_recorded_steps(self, stage: int, epoch: int, record: dict) -> bool:
        """An earlier epoch's step losses (metrics.jsonl keeps them), placed as the live steps were;
        False when the record has none (a run written before they were kept)."""
        losses, steps, every = record.get("step_losses"), record.get("steps_in_epoch"), record.get(
            "steps_per_loss_point", 1)
        if not (isinstance(losses, list) and losses and isinstance(steps, int) and steps > 0
                and isinstance(every, int) and every > 0):
            return False
        points = self.steps.setdefault(stage, [])
        last_step = int(record["step"])
        for index, loss in enumerate(losses):
            into_epoch = min(steps, (index + 1) * every)     # the step a point ends at, counted in its epoch
            points.append((last_step - steps + into_epoch, self.offset(stage) + epoch - 1 + into_epoch / steps,
                           float(loss)))
        self.version += 1
        return True

    def _add_step(self, stage: int, epoch: int, epochs: int, step: int, total: int, loss: float,
                  images_per_s: float | None) -> None:
        points = self.steps.setdefault(stage, [])
        if points and points[-1][0] >= step:       # a resumed run redoes steps after its checkpoint
            points[:] = [p for p in points if p[0] < step]
        steps_per_epoch = total / epochs if epochs and total else 1.0
        points.append((step, self.offset(stage) + step / steps_per_epoch, loss))
        self._epoch_steps.setdefault((stage, epoch), {})[step] = loss
        if images_per_s:
            self._epoch_speed[(stage, epoch)] = float(images_per_s)
        self.version += 1

    def _add_val(self, stage: int, epoch: int, val: dict[str, float]) -> None:
        for exit_id, miou in val.items():
            if miou is None:
                continue
            if exit_id not in self.exits:
                self.exits.append(exit_id)
            self.val.setdefault((stage, exit_id), {})[epoch] = float(miou)
        if FINAL_EXIT in self.exits:                 # the final exit is listed last
            self.exits.remove(FINAL_EXIT)
            self.exits.append(FINAL_EXIT)
        self.version += 1

    # --- output ---------------------------------------------------------------------
    def loss_curve(self, stage: int) -> tuple[list[float], list[float]]:
        """(x, loss) of every step of this stage: seen live, or kept in metrics.jsonl by earlier sessions."""
        points = self.steps.get(stage, [])
        return [p[1] for p in points], [p[2] for p in points]

    def smoothed_loss(self, stage: int, weight: float = 0.9) -> tuple[list[float], list[float]]:
        xs, ys = self.loss_curve(stage)
        return xs, smooth(ys, weight)

    def epoch_loss_curve(self, stage: int) -> tuple[list[float], list[float]]:
        """(x, mean loss) of earlier epochs whose metrics.jsonl lines have no step losses (older runs)."""
        items = sorted(self.epoch_losses.get(stage, {}).items())
        return [self.offset(stage) + e for e, _ in items], [v for _, v in items]

    def val_curve(self, stage: int, exit_id: str) -> tuple[list[float], list[float]]:
        """(x, mIoU %) of one exit's validations in one stage, by epoch."""
        items = sorted(self.val.get((stage, exit_id), {}).items())
        return [self.offset(stage) + e for e, _ in items], [v for _, v in items]

    def stages(self) -> list[int]:
        return sorted({s for s in self.steps} | {s for s in self.epoch_losses} | {s for s, _ in self.val})

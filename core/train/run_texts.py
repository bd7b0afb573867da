"""What the Train page says about a run, without Qt: the run folder's state, progress lines, the ETA,
and where the form differs from the run shown."""

from __future__ import annotations

from dataclasses import dataclass

from core.jobs import Progress

STAGES = {"all": "stages 1 and 2", "1": "stage 1", "2": "stage 2"}


def clock_text(seconds: float | None) -> str:
    """An ETA: m:ss or h:mm:ss; 'estimating...' while too few steps are timed (core.train.pace)."""
    if seconds is None:
        return "estimating..."
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def setting_text(value) -> str:
    """A setting as the form writes it (sizes HxW, nothing as 'none')."""
    if value is None or value == {}:
        return "none"
    if isinstance(value, tuple) and all(isinstance(v, int) for v in value):
        return "x".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return f"{value:g}" if isinstance(value, float) else str(value)


def differences_note(found: list[tuple[str, object, object]], *, finished: bool) -> str:
    """Where the form differs from the run in the run folder ('' when it does not)."""
    if not found:
        return ""
    shown = "; ".join(f"{name.replace('_', ' ')} {setting_text(mine)} (the run: {setting_text(theirs)})"
                      for name, mine, theirs in found)
    then = ("Start needs a new run folder." if finished
            else "Resume continues the run with its own settings; Start needs a new run folder.")
    return f"The form differs from the run in the run folder: {shown}. {then}"


@dataclass(frozen=True)
class RunFolderView:
    """The run folder's state as the page shows it: the progress bar's text and full/empty, a message."""

    progress: str
    full: bool
    message: str


def run_folder_view(info) -> RunFolderView:
    """``info``: core.train.history.inspect_run's answer, or None for a folder without a run."""
    if info is None:
        return RunFolderView("no run", False, "")
    if info.finished:
        return RunFolderView("finished", True, f"This folder holds a finished run; its model is {info.result}.")
    return RunFolderView("stopped", False, "This folder holds an unfinished run: Resume continues it.")


def launch_line(config, *, resume: bool) -> str:
    return (f"{'resuming' if resume else 'starting'} {config.out}: {STAGES[config.stage]}, {config.backbone}, "
            f"batch {config.batch_size}, device {config.device}")


@dataclass(frozen=True)
class ProgressView:
    """A training event as the page shows it (None fields: leave as they are)."""

    stage: str | None = None          # "stage 1 · epoch 2/6", kept for the next events
    bar: str | None = None            # the progress bar's text
    message: str | None = None        # the status line
    value: tuple[int, int] | None = None   # (done, total) for the bar


def progress_view(event: Progress, stage: str) -> ProgressView:
    """What a Trainer event changes on the page; ``stage``: the stage text of the events before."""
    metrics = event.metrics
    if event.stage in ("stage1", "stage2") and "loss" in metrics:
        stage = f"stage {metrics['stage']} · epoch {metrics['epoch']}/{metrics['epochs']}"
        speed = metrics.get("images_per_s")
        return ProgressView(stage, f"{stage} · step {event.done}/{event.total} · {speed or 0:.1f} img/s · "
                                   f"ETA {clock_text(metrics.get('eta_s'))}", message="Training...",
                            value=(min(event.done, event.total), max(1, event.total)))
    if event.stage == "exits":
        text = f"{stage} · validating image {event.done}/{event.total}".lstrip(" ·")
        return ProgressView(stage, f"{text} · ETA {clock_text(metrics.get('eta_s'))}", "Validating...")
    return ProgressView(stage)

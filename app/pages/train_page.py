"""The Train page: set up a two-stage MESS training run, start, cancel or resume it, watch it.

A face over core.train (the `mess train` command's Trainer job): the form builds
a TrainConfig, the run goes on a JobWorker, its Progress events feed a
core.train.history.TrainingHistory drawn by the curves widget (throttled), a
progress bar and a log with a line per epoch. The run folder's earlier epochs
(metrics.jsonl) are shown when the folder holds a run, so a resumed run shows
its whole history.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.pages import PAGES, Page, PageEntry
from app.widgets.train_form import TrainForm
from app.widgets.training_curves import TrainingCurves
from app.workers import JobWorker, start_job
from core.errors import MessError
from core.jobs import Progress
from core.threads import sharing_cores
from core.train.config import TrainConfig, differences
from core.train.history import TrainingHistory, inspect_run, read_metrics
from core.train.trainer import Trainer

SHUTDOWN_WAIT_MS = 120_000


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "estimating..."      # too few steps timed yet (core.train.pace)
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def _value(value) -> str:
    """A setting as the form writes it (sizes HxW, nothing as 'none')."""
    if value is None or value == {}:
        return "none"
    if isinstance(value, tuple) and all(isinstance(v, int) for v in value):
        return "x".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return f"{value:g}" if isinstance(value, float) else str(value)


def _train_job(config: TrainConfig, resume: bool):
    """The worker's factory: the Trainer is made (and checks its input) on the worker thread."""
    return lambda token: sharing_cores("train", lambda threads: Trainer(config, resume=resume, cancel=token).run())


class TrainPage(Page):
    """Form, Start / Cancel / Resume / Open trained model, live curves, progress bar and run log."""

    title = "Train"

    def __init__(self, state, settings, parent: QWidget | None = None) -> None:
        super().__init__(state, settings, parent)
        self._worker: JobWorker | None = None
        self._cancelling = False
        self._result: Path | None = None          # the trained model of the run shown, once it exists
        self._runnable = False                    # the run folder holds a run that Resume can continue
        self._stage_text = ""
        self._shown_run: TrainConfig | None = None   # the config of the run the page shows (its folder's)
        self.form = TrainForm(self)
        self.start_button = self._button("Start", "Start a new run in the run folder (Ctrl+Return)", self.start)
        self.cancel_button = self._button("Cancel", "Stop the run after the current step; it keeps its last "
                                          "checkpoint, Resume continues it (Esc)", self.cancel)
        self.resume_button = self._button("Resume", "Continue the run in the run folder from its last checkpoint, "
                                          "with the settings in its run.json (Ctrl+Shift+Return)", self.resume)
        self.open_button = self._button("Open trained model", "Open the run's trained model in the app "
                                        "(Model, Search and Live pages)", self.open_trained_model)
        self.form_note = QLabel("")
        self.form_note.setObjectName("train-form-note")
        self.form_note.setWordWrap(True)
        self.form_note.setStyleSheet("color: #8a4b00; background: #fff4e0; padding: 3px;")
        self.form_note.setVisible(False)
        self.message = QLabel("")
        self.message.setObjectName("train-message")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QProgressBar()
        self.progress.setObjectName("train-progress")
        self.progress.setTextVisible(True)
        self.progress.setFormat("no run")
        self.progress.setValue(0)
        self.curves = TrainingCurves()
        self.log = QPlainTextEdit()
        self.log.setObjectName("train-log")
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(10_000)
        self.log.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.log.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.log.setPlaceholderText("The run's log: one line per epoch and event.")
        self._layout()
        self._shortcuts()
        self.form.out.changed.connect(self._show_run_folder)
        self.form.edited.connect(self._check_form)
        self.state.model_changed.connect(self._on_model_changed)
        net = getattr(self.state, "net", None)
        self.form.restore_settings(settings, net.spec.backbone if net is not None else None)
        if net is not None:
            self.form.set_backbone(net.spec.backbone, net.spec.backbone_options)
        self._show_run_folder()

    # --- construction -------------------------------------------------------------------
    def _button(self, text: str, tip: str, slot) -> QPushButton:
        button = QPushButton(text, self)
        button.setToolTip(tip)
        button.clicked.connect(slot)
        return button

    def _layout(self) -> None:
        buttons = QGridLayout()
        buttons.addWidget(self.start_button, 0, 0)
        buttons.addWidget(self.cancel_button, 0, 1)
        buttons.addWidget(self.resume_button, 1, 0)
        buttons.addWidget(self.open_button, 1, 1)
        inner = QWidget()
        fields = QVBoxLayout(inner)
        fields.addWidget(self.form)
        fields.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(inner)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        left = QWidget()
        left.setMinimumWidth(340)
        left.setMaximumWidth(520)
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(scroll, 1)
        column.addLayout(buttons)
        column.addWidget(self.form_note)
        column.addWidget(self.message)
        bottom = QWidget()
        lower = QVBoxLayout(bottom)
        lower.setContentsMargins(0, 0, 0, 0)
        lower.addWidget(self.progress)
        lower.addWidget(self.log, 1)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.curves)
        self.splitter.addWidget(bottom)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        for key, splitter in (("train/splitter", self.splitter), ("train/curves_splitter", self.curves.splitter)):
            state = self.settings.get_bytes(key)
            if state is not None:
                splitter.restoreState(state)
        layout = QHBoxLayout(self)
        layout.addWidget(left)
        layout.addWidget(self.splitter, 1)

    def _shortcuts(self) -> None:
        def shortcut(keys: str, slot) -> QShortcut:
            item = QShortcut(QKeySequence(keys), self)
            item.setContext(Qt.ShortcutContext.WindowShortcut)     # only while this page is the tab shown
            item.activated.connect(slot)
            return item

        self.start_shortcuts = [shortcut("Ctrl+Return", self.start), shortcut("Ctrl+Enter", self.start)]
        self.resume_shortcut = shortcut("Ctrl+Shift+Return", self.resume)
        self.cancel_shortcut = shortcut("Esc", self.cancel)

    # --- state ----------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._worker is not None

    def _update_buttons(self) -> None:
        running = self.running
        self.form.setEnabled(not running)
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running and not self._cancelling)
        self.cancel_shortcut.setEnabled(running)     # Esc leaves full screen when nothing runs
        self.resume_button.setEnabled(not running and self._runnable)
        self.open_button.setEnabled(not running and self._result is not None)

    def _say(self, text: str, error: bool = False) -> None:
        """The one-line message under the buttons (red for an error)."""
        if text == self.message.text() and error == bool(self.message.styleSheet()):
            return
        self.message.setStyleSheet("color: #b00020;" if error else "")
        self.message.setText(text)

    def _log(self, line: str) -> None:
        self.log.appendPlainText(line)

    def _show_history(self, history: TrainingHistory, records: list[dict] | None = None) -> None:
        self.curves.set_history(history)
        self.log.clear()
        lines = history.load_records(records or [])
        if lines:
            self._log(f"earlier epochs of the run ({len(lines)}):")
            for line in lines:
                self._log("  " + line)

    def _show_run_folder(self, *_args) -> None:
        """The run folder changed: show the run it holds (its curves, its log, what can be done with it)."""
        if self.running:
            return
        self._result, self._runnable = None, False
        folder = self.form.out.text()
        try:
            info = inspect_run(folder) if folder else None
        except MessError as exc:
            self._shown_run = None
            self._check_form()
            self._show_history(TrainingHistory())
            self._say(str(exc).splitlines()[0], error=True)
            self._update_buttons()
            return
        self._shown_run = info.config if info is not None else None
        if info is not None:
            self.form.show_config(info.config)     # the form shows the run it would resume
        self._check_form()
        if info is None:
            self._show_history(TrainingHistory())
            self.progress.setValue(0)
            self.progress.setFormat("no run")
            self._say("")
        else:
            self._show_history(TrainingHistory.for_config(info.config), read_metrics(info.metrics))
            self._result, self._runnable = info.result, not info.finished
            if info.finished:
                self.progress.setValue(self.progress.maximum())
                self.progress.setFormat("finished")
                self._say(f"This folder holds a finished run; its model is {info.result}.")
            else:
                self.progress.setValue(0)
                self.progress.setFormat("stopped")
                self._say("This folder holds an unfinished run: Resume continues it.")
        self._update_buttons()

    def _check_form(self) -> None:
        """Say, beside the buttons, where the form disagrees with the run shown (never silently)."""
        run = self._shown_run
        note = ""
        if run is not None and not self.running:
            try:
                found = differences(self.form.values(), run)
            except MessError as exc:
                found, note = [], f"The form has a value it cannot read ({str(exc).splitlines()[0]})."
            if found:
                shown = "; ".join(f"{name.replace('_', ' ')} {_value(mine)} (the run: {_value(theirs)})"
                                  for name, mine, theirs in found)
                note = (f"The form differs from the run in the run folder: {shown}. Resume continues the run "
                        "with its own settings; Start needs a new run folder.")
        self.form_note.setText(note)
        self.form_note.setVisible(bool(note))

    def _on_model_changed(self) -> None:
        if self._shown_run is not None:       # the form shows the run in the run folder: its backbone stays
            self._check_form()
            return
        if not self.running and self.state.net is not None:
            spec = self.state.net.spec
            self.form.set_backbone(spec.backbone, spec.backbone_options)

    # --- actions --------------------------------------------------------------------
    def start(self) -> None:
        """Start a new run with the form's settings (errors: a one-line message, nothing written)."""
        if self.running:
            return
        folder = self.state.folder
        try:
            config = self.form.config(open_model=str(folder) if folder else None)
        except MessError as exc:
            self._say(str(exc).splitlines()[0], error=True)
            return
        self._launch(config, resume=False, records=[])

    def resume(self) -> None:
        """Continue the run folder's run with the config in its run.json."""
        if self.running:
            return
        folder = self.form.out.text()
        try:
            info = inspect_run(folder) if folder else None
        except MessError as exc:
            self._say(str(exc).splitlines()[0], error=True)
            return
        if info is None:
            self._say(f"{folder or 'no run folder'}: no run to resume (no run.json)", error=True)
            return
        self.form.show_config(info.config)
        self._launch(info.config, resume=True, records=read_metrics(info.metrics))

    def cancel(self) -> None:
        """Ask the run to stop between steps; it keeps its last checkpoint."""
        if self._worker is None or self._cancelling:
            return
        self._cancelling = True
        self._worker.cancel()
        self._say("Cancelling after the current step...")
        self._update_buttons()

    def open_trained_model(self) -> None:
        if self._result is not None and not self.running:
            self._say(f"Opening {self._result}...")
            self.state.open_model(self._result)

    def _launch(self, config: TrainConfig, resume: bool, records: list[dict]) -> None:
        self._result, self._runnable, self._cancelling = None, False, False
        self._stage_text = ""
        self._shown_run = config
        self._show_history(TrainingHistory.for_config(config), records)
        stages = {"all": "stages 1 and 2", "1": "stage 1", "2": "stage 2"}[config.stage]
        self._log(f"{'resuming' if resume else 'starting'} {config.out}: {stages}, {config.backbone}, "
                  f"batch {config.batch_size}, device {config.device}")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("checking the input...")
        self._say("Resuming..." if resume else "Starting...")
        self._worker = start_job(_train_job(config, resume), "train", self, progress=self._on_progress,
                                 succeeded=self._on_succeeded, failed=self._on_failed,
                                 cancelled=self._on_cancelled, finished=self._on_finished)
        self._update_buttons()
        self.cancel_button.setFocus()

    # --- the run's events -------------------------------------------------------------
    def _on_progress(self, event: Progress) -> None:
        line = self.curves.history.add_progress(event)
        if line:
            self._log(line)
        metrics = event.metrics
        if event.stage == "resume":           # the log says so already
            return
        if event.stage in ("stage1", "stage2") and "loss" in metrics:
            self._stage_text = f"stage {metrics['stage']} · epoch {metrics['epoch']}/{metrics['epochs']}"
            speed = metrics.get("images_per_s")
            self.progress.setRange(0, max(1, event.total))
            self.progress.setValue(min(event.done, event.total))
            self.progress.setFormat(f"{self._stage_text} · step {event.done}/{event.total} · "
                                    f"{speed or 0:.1f} img/s · ETA {_clock(metrics.get('eta_s'))}")
            self._say("Training...")
        elif event.stage == "exits":
            text = f"{self._stage_text} · validating image {event.done}/{event.total}".lstrip(" ·")
            self.progress.setFormat(f"{text} · ETA {_clock(metrics.get('eta_s'))}")
            self._say("Validating...")

    def _on_succeeded(self, result) -> None:
        self._result = Path(result)
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.progress.setFormat("finished")
        self._log(f"trained model: {self._result}")
        self._say(f"Finished: the trained model is {self._result}.")

    def _on_failed(self, message: str) -> None:
        self._log(f"failed: {message}")
        self.progress.setFormat("failed")
        self._say(message, error=True)

    def _on_cancelled(self) -> None:
        self._runnable = True
        self._log("cancelled: the run keeps its last checkpoint; Resume continues it")
        self.progress.setFormat(f"cancelled{' at ' + self._stage_text if self._stage_text else ''}")
        self._say("Cancelled: the run keeps its last checkpoint; Resume continues it.")

    def _on_finished(self) -> None:
        worker, self._worker = self._worker, None
        self._cancelling = False
        if worker is not None:
            worker.wait(SHUTDOWN_WAIT_MS)
            worker.deleteLater()
        if self._result is None and not self._runnable:
            folder = self.form.out.text()
            try:
                info = inspect_run(folder) if folder else None
            except MessError:
                info = None
            self._runnable = info is not None and not info.finished
        self._update_buttons()

    # --- Page -----------------------------------------------------------------------
    def save_settings(self) -> None:
        self.form.save_settings(self.settings)
        self.settings.set("train/splitter", self.splitter.saveState())
        self.settings.set("train/curves_splitter", self.curves.splitter.saveState())

    def shutdown(self) -> None:
        """Cancel a running run and wait for it (it keeps its last checkpoint)."""
        worker = self._worker
        if worker is not None:
            worker.cancel()
            worker.wait(SHUTDOWN_WAIT_MS)


PAGES.add("train", PageEntry("train", "Train", "Ctrl+2", factory=TrainPage))

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
    QHBoxLayout,
    QPlainTextEdit,
    QProgressBar,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.pages import PAGES, Page, PageEntry
from app.widgets.train_controls import TrainControls
from app.widgets.training_curves import TrainingCurves
from app.workers import JobWorker, start_job
from core.errors import MessError
from core.jobs import Progress
from core.threads import sharing_cores
from core.train.config import TrainConfig, differences
from core.train.history import TrainingHistory, inspect_run, read_metrics
from core.train.run_texts import differences_note, launch_line, progress_view, run_folder_view
from core.train.trainer import Trainer

SHUTDOWN_WAIT_MS = 120_000


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
        self._shown_finished = False                  # whether that run has finished (no Resume to offer)
        self.controls = TrainControls(self)
        c = self.controls
        self.form, self.form_note, self.message = c.form, c.form_note, c.message
        self.start_button, self.cancel_button = c.start_button, c.cancel_button
        self.resume_button, self.open_button = c.resume_button, c.open_button
        for button, slot in ((self.start_button, self.start), (self.cancel_button, self.cancel),
                             (self.resume_button, self.resume), (self.open_button, self.open_trained_model)):
            button.clicked.connect(slot)
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
    def _layout(self) -> None:
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
        layout.addWidget(self.controls)
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
        self._shown_finished = info is not None and info.finished
        if info is not None:
            self.form.show_config(info.config)     # the form shows the run it would resume
        self._check_form()
        if info is None:
            self._show_history(TrainingHistory())
        else:
            self._show_history(TrainingHistory.for_config(info.config), read_metrics(info.metrics))
            self._result, self._runnable = info.result, not info.finished
        view = run_folder_view(info)
        self.progress.setValue(self.progress.maximum() if view.full else 0)
        self.progress.setFormat(view.progress)
        self._say(view.message)
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
            note = note or differences_note(found, finished=self._shown_finished)
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
        self._shown_finished = False
        self._log(launch_line(config, resume=resume))
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
        if event.stage == "resume":           # the log says so already
            return
        view = progress_view(event, self._stage_text)
        self._stage_text = view.stage
        if view.value is not None:
            self.progress.setRange(0, view.value[1])
            self.progress.setValue(view.value[0])
        if view.bar is not None:
            self.progress.setFormat(view.bar)
        if view.message is not None:
            self._say(view.message)

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

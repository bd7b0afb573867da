"""Runtime > Calibrate int8: 'mess quantize' from the app, on a worker, then running int8.

The action opens Int8CalibrationDialog; the calibration is core.deploy.quantize.quantize_job on a
JobWorker, its progress in the status bar. While it runs the action cancels it. When it succeeds the
Runtime switches to int8 (or, already at int8, the pages build their pieces again on the new graphs).
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QWidget

from app.settings import Settings
from app.state import AppState
from app.widgets.int8_dialog import Int8CalibrationDialog
from app.workers import JobWorker, start_job
from core.profile.cache import COST_CACHE

DEFAULT_SIZE = (360, 480)      # a model without an input size is calibrated (and measured) at this one
CALIBRATE_TEXT = "Calibrate int8..."
CANCEL_TEXT = "Cancel the int8 calibration"


class Int8Calibrator(QObject):
    """The action, its dialog and the calibration job. ``show(text, error)`` reports in the status bar
    (``error`` None: progress, shown until the next line); ``use_int8()`` switches the Runtime to int8
    once a calibration exists."""

    def __init__(self, state: AppState, settings: Settings, parent: QWidget, *,
                 show: Callable[[str, bool | None], None], use_int8: Callable[[], None]) -> None:
        super().__init__(parent)
        self.state, self.settings = state, settings
        self._show, self._use_int8 = show, use_int8
        self._stored = False
        self._parent = parent
        self.worker: JobWorker | None = None
        self.dialog: Int8CalibrationDialog | None = None
        self.action = QAction(CALIBRATE_TEXT, parent, shortcut=QKeySequence("Ctrl+Shift+I"))
        self.action.setObjectName("calibrate-int8")
        self.action.setToolTip("Make the open model's int8 graphs from footage like what it will run on "
                               "('mess quantize --images SRC'), then run int8")
        self.action.triggered.connect(self.trigger)

    @property
    def running(self) -> bool:
        return self.worker is not None and self.worker.active()

    def input_size(self) -> tuple[int, int]:
        return tuple(self.state.net.spec.input_size or DEFAULT_SIZE)

    def trigger(self) -> None:
        """Open the dialog, or cancel the calibration that runs."""
        if self.running:
            self.worker.cancel()
            self._show("Cancelling the int8 calibration...", None)
            return
        if self.state.net is None:
            self._show("Open a model before calibrating int8.", True)
            return
        self.dialog = Int8CalibrationDialog(self.settings, self.input_size(), self._parent)
        self.dialog.finished.connect(self._dialog_finished)
        self.dialog.open()

    def _dialog_finished(self, result: int) -> None:
        dialog, self.dialog = self.dialog, None
        if dialog is not None and result == QDialog.DialogCode.Accepted:
            self.start(*dialog.values())
        if dialog is not None:
            dialog.deleteLater()

    def start(self, source: str, count: int, scheme: str) -> None:
        """Calibrate the open model on ``count`` images of ``source`` with ``scheme`` (on a worker)."""
        from core.deploy.quantize import quantize_job

        net, size, folder = self.state.net, self.input_size(), self.state.folder
        sha = self.state.info.weights_sha256
        self._stored = False      # the job reports "stored" once the new calibration is written
        self._show(f"Calibrating int8 on {count} images of {source}...", None)
        self.action.setText(CANCEL_TEXT)
        self.worker = start_job(
            lambda token: quantize_job(net, source, input_size=size, count=count, scheme=scheme, cancel=token),
            "quantize", self, progress=self._progress, succeeded=lambda result: self._done(result, folder, sha),
            failed=lambda message: self._stopped(f"Cannot calibrate int8: {message}", folder, sha, size=size,
                                                 error=True),
            cancelled=lambda: self._stopped("int8 calibration cancelled", folder, sha, size=size, error=False),
            finished=lambda: self.action.setText(CALIBRATE_TEXT))

    def _progress(self, event) -> None:
        self._stored = self._stored or event.stage in ("stored", "quantize")
        self._show(f"int8 calibration: {event.message}", None)     # stays until the next line

    def _done(self, result, folder, sha: str) -> None:
        record, _ = result
        h, w = record.input_size
        print(f"MESS Studio: int8 calibration of {folder} at {h}x{w} made", flush=True)   # smoke tests read it
        made = (f"int8 calibration made: {record.images} images of {record.source} at {h}x{w} "
                f"(scheme {record.scheme})")
        self._show(made + ("; running int8." if self._run_on(folder, sha, record.input_size) else "."), False)

    def _stopped(self, text: str, folder, sha: str, size: tuple[int, int], *, error: bool) -> None:
        """Cancelled or failed: before the new calibration was stored the earlier one stays; after, the new
        one is kept (the graphs not made yet are made on first use) and runs as a finished one would."""
        print(f"MESS Studio: {text}", flush=True)
        if not self._stored:
            self._show(f"{text}; the earlier calibration (if any) stays.", error)
            return
        running = self._run_on(folder, sha, size)
        self._show(f"{text} after the new calibration was stored: it is kept, its remaining graphs are made "
                   "on first use" + ("; running int8." if running else "."), error)

    def _run_on(self, folder, sha: str, size: tuple[int, int]) -> bool:
        """Run int8 on the new graphs when ``folder`` is still the open model; whether it runs int8 now.
        The int8 latency tables of these weights (``sha``) measured at ``size`` timed the graphs just
        replaced: they are forgotten first, so the pages measure the new ones."""
        COST_CACHE.forget(weights_sha256=sha, precision="int8", input_size=size)
        if self.state.folder != folder:
            return False                         # another model was opened meanwhile: its runtime stays
        if self.state.precision == "int8":
            self.state.rebuild_backend()
        else:
            self._use_int8()
        return self.state.precision == "int8"

    def shutdown(self) -> None:
        if self.running:
            self.worker.cancel()
        if self.worker is not None:
            self.worker.wait(30_000)

"""Runtime > Calibrate int8: 'mess quantize' from the app, then the Runtime runs int8."""

from __future__ import annotations

import time

import pytest
from PySide6.QtWidgets import QDialogButtonBox

from app.int8_calibration import CALIBRATE_TEXT, CANCEL_TEXT
from core.deploy.graph_store import GraphStore
from core.deploy.quantize import load_calibration
from core.jobs import Progress
from core.profile.cache import COST_CACHE, cost_key
from core.profile.costs import CostTable
from core.runtime.backends import BACKENDS
from tests.data.builders import noise_frames, write_image_folder

JOB_TIMEOUT_MS = 240_000


@pytest.fixture
def calibrator(window, monkeypatch, tmp_path):
    reason = BACKENDS.get("onnxruntime").unavailable_reason()
    if reason:
        pytest.skip(f"backend onnxruntime: {reason}")
    monkeypatch.setenv("MESS_CACHE_DIR", str(tmp_path / "cache"))    # this test's calibrations only
    window.backend_actions["onnxruntime"].trigger()
    window.show_page("live")            # the Model page measures int8 when it is shown, not behind the Live page
    return window.int8_calibrator


@pytest.fixture
def stale_int8_tables(window):
    """An int8 and an fp32 latency table of the open model measured at the calibrated size (on another
    device than the pages measure on, so that nothing measures them again), and another model's int8 table
    at that size: a new calibration must forget the open model's int8 one alone."""
    sha = window.state.info.weights_sha256
    keys = {precision: cost_key(window.state.net, sha, (360, 480), device="cuda", backend="onnxruntime",
                                precision=precision) for precision in ("int8", "fp32")}
    keys["other-int8"] = cost_key(window.state.net, "f" * 64, (360, 480), device="cpu", backend="onnxruntime",
                                  precision="int8")
    for precision, key in keys.items():
        COST_CACHE.put(key, CostTable(input_size=(360, 480), device="cpu", segments=[], heads={},
                                      precision=precision))
    yield keys
    for key in keys.values():
        COST_CACHE.discard(key)


def endless_job(stage: str, message: str):
    """A stand-in for quantize_job that reports ``stage`` progress until it is cancelled."""
    def job(net, source, *, input_size, count, scheme, cancel):
        while True:
            cancel.check()
            yield Progress(stage, 0, 0, message=message)
            time.sleep(0.01)
    return job


def fill_and_accept(calibrator, source: str, count: int, scheme: str = "u8") -> None:
    calibrator.action.trigger()
    dialog = calibrator.dialog
    assert dialog is not None and dialog.isVisible()
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    dialog.source.setText("")
    assert not ok.isEnabled(), "no footage, nothing to calibrate on"
    dialog.source.setText(source)
    dialog.count.setValue(count)
    dialog.scheme.setCurrentIndex(dialog.scheme.findData(scheme))
    ok.click()


def test_calibrating_from_the_menu_makes_the_graphs_and_runs_int8(window, calibrator, settings, qtbot, tmp_path,
                                                                   stale_int8_tables):
    frames = write_image_folder(tmp_path / "frames", noise_frames(3, size=(90, 120), seed=1))
    with qtbot.waitSignal(window.state.backend_changed, timeout=JOB_TIMEOUT_MS) as changed:
        fill_and_accept(calibrator, str(frames), count=3)
        assert calibrator.action.text() == CANCEL_TEXT
    assert changed.args == ["onnxruntime", "int8"] and window.int8_action.isChecked()
    assert settings.get("runtime/precision") == "int8"
    assert "int8 calibration made: 3 images of" in window.statusBar().currentMessage()
    assert COST_CACHE.get(stale_int8_tables["int8"]) is None and COST_CACHE.get(stale_int8_tables["fp32"]), \
        "the int8 tables of the calibrated size timed the graphs it replaced"
    assert COST_CACHE.get(stale_int8_tables["other-int8"]) is not None, "another model's graphs did not change"
    record = load_calibration(GraphStore(window.state.net, (360, 480)).folder)
    assert record is not None and (record.images, record.scheme, record.input_size) == (3, "u8", (360, 480))
    qtbot.waitUntil(lambda: calibrator.action.text() == CALIBRATE_TEXT)
    assert (settings.get("int8/source"), settings.get("int8/count", 0), settings.get("int8/scheme")) == \
        (str(frames), 3, "u8")

    # Again at int8 with the other scheme: the pages build their pieces again on the new graphs.
    calibrator.action.trigger()
    assert calibrator.dialog.source.text() == str(frames) and calibrator.dialog.count.value() == 3, "remembered"
    calibrator.dialog.reject()
    with qtbot.waitSignal(window.state.backend_changed, timeout=JOB_TIMEOUT_MS) as changed:
        fill_and_accept(calibrator, str(frames), count=2, scheme="s8")
    assert changed.args == ["onnxruntime", "int8"]
    assert load_calibration(GraphStore(window.state.net, (360, 480)).folder).scheme == "s8"


def test_bad_footage_is_one_line_and_the_runtime_stays(window, calibrator, qtbot, tmp_path, stale_int8_tables):
    calibrator.start(str(tmp_path / "missing"), 4, "u8")
    qtbot.waitUntil(lambda: not calibrator.running, timeout=JOB_TIMEOUT_MS)
    message = window.statusBar().currentMessage()
    assert message.startswith("Cannot calibrate int8: ") and "missing" in message and "\n" not in message
    assert window.state.precision == "fp32" and calibrator.action.text() == CALIBRATE_TEXT
    assert COST_CACHE.get(stale_int8_tables["int8"]) is not None, "the earlier calibration stays, and its tables"


def test_the_action_cancels_a_calibration_that_runs(window, calibrator, qtbot, monkeypatch):
    import core.deploy.quantize as quantize

    monkeypatch.setattr(quantize, "quantize_job", endless_job("calibrate", "reading"))
    calibrator.start("anything", 4, "u8")
    qtbot.waitUntil(lambda: "int8 calibration: reading" in window.statusBar().currentMessage())
    calibrator.action.trigger()                       # while it runs, the action cancels it
    qtbot.waitUntil(lambda: not calibrator.running, timeout=JOB_TIMEOUT_MS)
    assert "int8 calibration cancelled" in window.statusBar().currentMessage()
    assert window.state.precision == "fp32" and calibrator.action.text() == CALIBRATE_TEXT


def test_a_cancel_after_the_calibration_is_stored_keeps_it_and_runs_int8(window, calibrator, qtbot, monkeypatch,
                                                                         stale_int8_tables):
    import core.deploy.quantize as quantize

    # "stored" progress comes once the calibration is written
    monkeypatch.setattr(quantize, "quantize_job", endless_job("stored", "calibration of 4 images stored"))
    calibrator.start("anything", 4, "u8")
    qtbot.waitUntil(lambda: "images stored" in window.statusBar().currentMessage())
    with qtbot.waitSignal(window.state.backend_changed, timeout=JOB_TIMEOUT_MS):
        calibrator.action.trigger()
    qtbot.waitUntil(lambda: not calibrator.running, timeout=JOB_TIMEOUT_MS)
    message = window.statusBar().currentMessage()
    assert "cancelled after the new calibration was stored: it is kept" in message and "running int8" in message
    assert window.state.precision == "int8"
    assert COST_CACHE.get(stale_int8_tables["int8"]) is None, "they timed the graphs the new calibration replaced"
    assert COST_CACHE.get(stale_int8_tables["fp32"]) is not None


def test_a_cancel_while_the_images_are_read_keeps_the_calibration_they_made(window, calibrator, qtbot, monkeypatch,
                                                                           stale_int8_tables, tmp_path):
    """The cancel arrives while the images are read: the job writes the calibration before it honours
    it, so the new calibration is kept, said so, and the int8 tables of the replaced graphs go."""
    import core.deploy.quantize as quantize

    read = quantize.calibration_images

    def read_then_cancel(*args, **kwargs):
        images = read(*args, **kwargs)
        calibrator.worker.cancel()           # pressed while reading
        return images

    monkeypatch.setattr(quantize, "calibration_images", read_then_cancel)
    frames = write_image_folder(tmp_path / "frames", noise_frames(3, size=(90, 120), seed=2))
    with qtbot.waitSignal(window.state.backend_changed, timeout=JOB_TIMEOUT_MS):
        calibrator.start(str(frames), 3, "u8")
    qtbot.waitUntil(lambda: not calibrator.running, timeout=JOB_TIMEOUT_MS)
    message = window.statusBar().currentMessage()
    assert "cancelled after the new calibration was stored: it is kept" in message, message
    assert load_calibration(GraphStore(window.state.net, (360, 480)).folder).images == 3
    assert COST_CACHE.get(stale_int8_tables["int8"]) is None and window.state.precision == "int8"


def test_the_shortcut_opens_the_dialog_on_every_page(window, calibrator, qtbot):
    """Ctrl+Shift+I is the action's alone (a key shared with a visible button fires neither)."""
    from PySide6.QtCore import Qt

    for page in window.pages:
        window.show_page(page)
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow)
        qtbot.keyClick(window.tabs.currentWidget(), Qt.Key.Key_I,
                       Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        qtbot.waitUntil(lambda: calibrator.dialog is not None and calibrator.dialog.isVisible())
        calibrator.dialog.reject()
        qtbot.waitUntil(lambda: calibrator.dialog is None)

"""The Live page's deadline, clicked through like a user on a tiny model: the Deadline check box and its
milliseconds switch the running player to a deadline configuration over the kept exits (its latency table
measured on the worker when none was measured), the readouts say the deadline, D toggles it, Anytime and
the deadline turn each other off, a deadline configuration file shows in the control, it persists, and
turning it off gives back the configuration applied before."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.main_window import MainWindow
from app.pages.live_page import LivePage
from app.settings import Settings
from app.state import AppState
from core.jsonio import write_json_atomic
from core.models.spec import FINAL_EXIT
from core.profile.cache import COST_CACHE, cost_key
from core.runtime.config import ExitConfig
from core.runtime.config_file import ConfigOrigin
from core.runtime.early_exit import default_deadline_exits
from tests.data.builders import street_frames, write_tiny_model, write_video
from tests.train.conftest import one_thread

from .conftest import LOAD_TIMEOUT_MS

SIZE = (48, 64)
FRAME_TIMEOUT_MS = 60_000


@pytest.fixture(autouse=True)
def single_thread():
    with one_thread():        # a shared 2-core machine: one torch thread
        yield


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return write_tiny_model(tmp_path_factory.mktemp("deadline") / "model", SIZE)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return write_video(tmp_path_factory.mktemp("deadline-clip") / "clip.mp4",
                       street_frames(8, SIZE, seed=3, x0=4, dx=5, box=(12, 6, 8)))


def open_window(qtbot, settings_path: Path, model: Path) -> MainWindow:
    state = AppState(device="cpu", backend="torch")
    window = MainWindow(Settings(str(settings_path)), state)
    qtbot.addWidget(window)
    with qtbot.waitSignal(state.model_changed, timeout=LOAD_TIMEOUT_MS):
        state.open_model(model)
    window.show()
    return window


@pytest.fixture
def window(qtbot, tmp_path, tiny_model):
    window = open_window(qtbot, tmp_path / "settings.ini", tiny_model)
    state = window.state
    key = cost_key(state.net, state.info.weights_sha256, SIZE, device="cpu")
    COST_CACHE.discard(key)                  # no latency table measured yet: the deadline measures one
    yield window
    window.close()
    state.wait()
    COST_CACHE.discard(key)


@pytest.fixture
def page(window, qtbot) -> LivePage:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=10_000)     # shortcuts need the active window
    qtbot.keyClick(window, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)
    page = window.pages["live"]
    page.realtime_check.setChecked(False)                      # every frame, as fast as the model goes
    return page


def two_exits(page: LivePage) -> ExitConfig:
    exits = page.state.net.exit_ids()
    return ExitConfig([exits[0], FINAL_EXIT], th_pix=[1.0, 1.0], th_img=[1.0, 1.0])   # never leaves early


def next_frame(qtbot, page: LivePage, accept=lambda frame: True):
    """The first frame shown from now on that ``accept`` takes."""
    got = []

    def shown() -> bool:
        frame = page.last_frame
        if frame is not None and frame is not (got[-1] if got else None) and accept(frame):
            got.append(frame)
        return bool(got) or page.has_error
    start = page.view.frames_shown
    qtbot.waitUntil(lambda: page.view.frames_shown > start and shown(), timeout=FRAME_TIMEOUT_MS)
    assert not page.has_error, page.status.text()
    return got[-1]


def test_the_deadline_control_runs_the_player_in_deadline_mode_and_off_restores_the_configuration(page, qtbot,
                                                                                                    clip):
    state = page.state
    assert not page.deadline_check.isChecked() and page.deadline_spin.isEnabled()    # set it, then turn it on
    assert page.deadline_spin.value() == 20.0 and page.deadline_spin.suffix() == " ms"
    assert "D" in page.deadline_check.toolTip() and page.deadline_spin.toolTip()
    state.set_config(two_exits(page))
    applied = page.controls.run_config
    page.source.set_source("file", str(clip))
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    before = next_frame(qtbot, page)
    assert before.deadline is None and page._worker.config == applied
    said: list[str] = []
    page._worker.message.connect(said.append)
    page.deadline_spin.setValue(30.0)                           # while off: kept for later, nothing switches
    assert not page.controls.deadline and page._worker.config == applied and page.controls.deadline_ms == 30.0
    page.deadline_spin.setValue(20.0)

    page.deadline_check.click()
    assert page.deadline_check.isChecked() and page.deadline_spin.isEnabled()
    assert "(deadline 20 ms)" in page.config_label.text() and not page.sliders.isEnabled()
    frame = next_frame(qtbot, page, lambda f: f.deadline is not None)
    assert any(line.startswith("Measuring the latency table the deadline decides from (torch fp32, 48x64)")
               for line in said), "measured on the worker, with progress"
    assert COST_CACHE.get(cost_key(state.net, state.info.weights_sha256, SIZE, device="cpu")) is not None
    running = page._worker.config
    assert running.mode == "deadline" and running.deadline_ms == 20.0 and running.exits == applied.exits
    assert frame.deadline.deadline_ms == 20.0 and page.latency_plot.deadline_ms == 20.0
    latency = page.readouts.detail("latency")
    assert "20 ms deadline" in latency and "frame" in latency
    assert "mean exit depth" in page.readouts.detail("exit")

    page.deadline_spin.setValue(1000.0)                         # time for every exit
    frame = next_frame(qtbot, page, lambda f: f.deadline is not None and f.deadline.deadline_ms == 1000)
    assert frame.result.exit_id == FINAL_EXIT and page._worker.config.deadline_ms == 1000
    page.deadline_spin.setValue(1.0)                            # time for none past the first kept exit
    frame = next_frame(qtbot, page, lambda f: f.deadline is not None and f.deadline.deadline_ms == 1)
    assert frame.result.exit_id == applied.exits[0], "the thresholds never let a frame leave there: the deadline did"
    assert "past the 1 ms deadline" in page.readouts.detail("latency")

    page.deadline_check.click()
    assert not page.deadline_check.isChecked() and page.deadline_spin.value() == 1.0
    frame = next_frame(qtbot, page, lambda f: f.deadline is None)
    assert page._worker.config == applied and frame.result.exit_id == FINAL_EXIT
    assert page.latency_plot.deadline_ms is None and "deadline" not in page.readouts.detail("latency")
    assert "Deadline off" in page.status.text()


def test_d_toggles_the_deadline_over_the_models_rungs_and_anytime_turns_it_off(page, qtbot, clip):
    net = page.state.net
    page.source.set_source("file", str(clip))
    qtbot.mouseClick(page.anytime_button, Qt.MouseButton.LeftButton)
    assert page.controls.anytime
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    next_frame(qtbot, page)
    qtbot.keyClick(page.window(), Qt.Key.Key_D)
    assert page.deadline_check.isChecked() and not page.anytime_button.isChecked()
    assert "Anytime is off" in page.status.text() and not page._worker.player.anytime
    assert page._worker.config.exits == default_deadline_exits(net), "the full network: the model's rungs"
    frame = next_frame(qtbot, page, lambda f: f.deadline is not None)
    assert not frame.refining and frame.exits == tuple(default_deadline_exits(net))
    qtbot.mouseClick(page.anytime_button, Qt.MouseButton.LeftButton)
    assert page.anytime_button.isChecked() and not page.deadline_check.isChecked()
    assert "the deadline is off" in page.status.text()
    next_frame(qtbot, page, lambda f: f.deadline is None)
    assert page._worker.config is None and page._worker.player.anytime, "the full network again"


def test_a_deadline_configuration_file_shows_in_the_control_and_the_setting_persists(window, page, qtbot, tmp_path,
                                                                                     tiny_model):
    state = page.state
    exits = state.net.exit_ids()
    config = ExitConfig.deadline([exits[0], FINAL_EXIT], 35.5)
    write_json_atomic(tmp_path / "deadline.json",
                      {**config.to_json(), **ConfigOrigin("tiny", state.info.weights_sha256).to_json()})
    assert window.load_config(tmp_path / "deadline.json")
    assert page.deadline_check.isChecked() and page.deadline_spin.value() == 35.5
    assert page.controls.run_config == config and "(deadline 35.5 ms)" in page.config_label.text()
    page.deadline_check.click()
    assert page.controls.run_config.mode == "dynamic" and page.controls.run_config.exits == config.exits
    page.deadline_check.click()
    page.deadline_spin.setValue(42.0)
    page.save_settings()
    window.settings.sync()
    again = open_window(qtbot, tmp_path / "settings.ini", tiny_model)
    restored = again.pages["live"]
    assert again.state.config == config, "the file's configuration is remembered for the same weights"
    assert restored.deadline_check.isChecked() and restored.deadline_spin.value() == 42.0, \
        "the deadline as it was left, not as the file had it"
    assert restored.controls.run_config == ExitConfig.deadline(config.exits, 42.0)
    again.close()
    again.state.wait()
    page.deadline_check.click()                                 # off, and the window closes with it off
    page.save_settings()
    window.settings.sync()
    third = open_window(qtbot, tmp_path / "settings.ini", tiny_model)
    assert not third.pages["live"].deadline_check.isChecked(), "turned off stays off"
    assert third.pages["live"].controls.run_config.mode == "dynamic"
    third.close()
    third.state.wait()

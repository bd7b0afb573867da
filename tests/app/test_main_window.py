"""The main window: pages, model loading, shortcuts, full screen, persisted layout, errors."""

from __future__ import annotations

import subprocess
import sys

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from app.main import startup_model
from app.main_window import MainWindow
from app.pages import load_pages
from app.settings import Settings
from app.state import AppState
from core.cli.common import BUNDLED_MODEL

from .conftest import LOAD_TIMEOUT_MS


def test_the_five_pages_are_registered_in_order():
    assert list(load_pages()) == ["model", "train", "search", "live", "inspect"]


def test_window_opens_on_the_bundled_model(window):
    assert window.state.folder == BUNDLED_MODEL
    assert window.tabs.count() == 5
    assert BUNDLED_MODEL.name in window._model_label.text()


def test_ctrl_number_switches_pages(window, qtbot):
    for index, key in enumerate((Qt.Key.Key_1, Qt.Key.Key_2, Qt.Key.Key_3, Qt.Key.Key_4, Qt.Key.Key_5)):
        qtbot.keyClick(window, key, Qt.KeyboardModifier.ControlModifier)
        assert window.tabs.currentIndex() == index


def test_f11_toggles_full_screen_and_escape_leaves_it(window, qtbot):
    window.fullscreen_action.trigger()
    qtbot.waitUntil(window.isFullScreen, timeout=2000)
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not window.isFullScreen(), timeout=2000)
    assert not window.fullscreen_action.isChecked()


def test_layout_page_and_model_persist_between_runs(qtbot, tmp_path, loaded_state):
    path = str(tmp_path / "persist.ini")
    first = MainWindow(Settings(path), loaded_state)
    qtbot.addWidget(first)
    first.show()
    first.resize(700, 520)
    first.show_page("search")
    first.close()
    second = MainWindow(Settings(path), AppState(device="cpu", backend="torch"))
    qtbot.addWidget(second)
    assert second.tabs.currentWidget() is second.pages["search"]
    assert second.height() == 520   # (the width is clamped to the 800-px offscreen screen)
    assert Settings(path).get("model") == str(BUNDLED_MODEL)
    second.close()


def test_a_bad_model_folder_gives_a_message_not_a_crash(window, qtbot, tmp_path):
    with qtbot.waitSignal(window.state.model_failed, timeout=LOAD_TIMEOUT_MS) as failed:
        window.state.open_model(tmp_path / "nothing-here")
    assert "nothing-here" in failed.args[0] and "\n" not in failed.args[0]
    assert window.state.folder == BUNDLED_MODEL, "the open model stays open"
    assert "nothing-here" in window.statusBar().currentMessage()


def test_startup_model_prefers_the_argument_then_the_last_one_then_the_bundled(tmp_path):
    assert startup_model(str(tmp_path), None) == tmp_path
    assert startup_model(None, str(tmp_path / "gone")) == BUNDLED_MODEL
    assert startup_model(None, str(BUNDLED_MODEL)) == BUNDLED_MODEL


def test_mess_gui_starts_shows_the_window_and_exits_cleanly(tmp_path):
    env = {"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "core.cli", "gui", "--quit-after", "1500", "--settings",
                           str(tmp_path / "s.ini")], capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, **env})
    assert done.returncode == 0, done.stderr
    assert "main window shown" in done.stdout


def test_help_menu_lists_the_shortcuts_and_says_what_runs(window, qtbot):
    menus = [action.text() for action in window.menuBar().actions()]
    assert "&Help" in menus
    text = window.shortcuts_text()
    for keys in ("Ctrl+1..5", "Ctrl+O", "F11", "F5", "Ctrl+Return"):
        assert keys in text
    window.show_shortcuts()
    box = window.findChild(QMessageBox, "shortcuts")
    assert box is not None and "presentation mode" in box.text()
    box.close()
    assert "Runtime: torch fp32" in window.about_text() and "mess --help" in window.about_text()


def test_a_failed_open_does_not_leave_loading_in_the_status_bar(window, qtbot, tmp_path):
    before = window._model_label.text()
    with qtbot.waitSignal(window.state.model_failed, timeout=60_000):
        window.state.open_model(tmp_path / "nothing-here")
    assert window._model_label.text() == before and "loading" not in window._model_label.text()
    for box in window.findChildren(QMessageBox):
        box.close()


def test_a_model_load_superseded_by_a_newer_one_is_dropped(qtbot, monkeypatch, tmp_path):
    """Open A (slow) then B: B is the model, though A's load ends after B's; A's failure is not shown."""
    import shutil
    import threading
    import time

    import app.state
    from app.state import AppState
    from core.errors import ModelFormatError

    real_load = app.state._load
    copy = tmp_path / "copy"
    shutil.copytree(BUNDLED_MODEL, copy)
    broken = tmp_path / "broken"
    slow_done = threading.Event()

    def load(folder, device):
        if folder in (copy, broken):
            time.sleep(1.0)
            slow_done.set()
            if folder == broken:
                raise ModelFormatError(f"{folder}: not a model folder")
        return real_load(folder, device)

    monkeypatch.setattr(app.state, "_load", load)
    state = AppState(device="cpu", backend="torch")
    failures = []
    state.model_failed.connect(failures.append)
    for slow in (copy, broken):
        slow_done.clear()
        state.open_model(slow)
        with qtbot.waitSignal(state.model_changed, timeout=60_000):
            state.open_model(BUNDLED_MODEL)
        assert slow_done.wait(30)
        qtbot.wait(300)                   # the slow load's queued result arrives (and must be dropped)
        assert state.folder == BUNDLED_MODEL and failures == []
    state.wait()


# --- File > Load configuration, and the applied configuration across restarts ------------------------------
def write_config(path, exits, weights_sha256=None, model="bundled"):
    """A configuration file as `mess search --out` writes it (``weights_sha256`` None: an older file)."""
    from core.jsonio import write_json_atomic
    from core.runtime.config import ExitConfig
    from core.runtime.config_file import ConfigOrigin

    config = ExitConfig(list(exits), th_pix=[0.5] * len(exits), th_img=[0.5] * len(exits))
    origin = ConfigOrigin(model, weights_sha256).to_json() if weights_sha256 else {"format_version": 1}
    write_json_atomic(path, {**config.to_json(), **origin})
    return config


def test_file_menu_loads_a_configuration_and_the_live_page_gets_it(window, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    state = window.state
    file_menu = window.menuBar().actions()[0].menu()
    assert window.load_config_action in file_menu.actions()
    assert window.load_config_action.shortcut().toString() == "Ctrl+Shift+L"
    exits = state.net.exit_ids()
    config = write_config(tmp_path / "c.json", [exits[0], exits[-1]], state.info.weights_sha256)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(tmp_path / "c.json"), "")))
    live_got = []
    state.config_changed.connect(live_got.append)     # what the Live page listens to
    with qtbot.waitSignal(state.config_changed, timeout=5000):
        qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert state.config == config and live_got == [config]
    assert "Applied c.json" in window.statusBar().currentMessage()
    assert "Ctrl+Shift+L" in window.shortcuts_text()


def test_a_configuration_for_other_weights_or_exits_is_refused_in_one_line(window, tmp_path):
    state = window.state
    exits = state.net.exit_ids()
    state.set_config(None)
    other = "c3" * 32
    write_config(tmp_path / "other.json", [exits[0], exits[-1]], other)
    assert not window.load_config(tmp_path / "other.json")
    message = window.statusBar().currentMessage()
    assert "other.json" in message and other[:12] in message and state.info.weights_sha256[:12] in message
    assert "\n" not in message and state.config is None, "nothing applied"
    write_config(tmp_path / "exits.json", ["features.99:fcn-c64-b0", exits[-1]], state.info.weights_sha256)
    assert not window.load_config(tmp_path / "exits.json")
    assert "features.99:fcn-c64-b0" in window.statusBar().currentMessage() and state.config is None
    (tmp_path / "broken.json").write_text("{")
    assert not window.load_config(tmp_path / "broken.json") and state.config is None


def test_an_older_configuration_file_loads_with_a_note(window, tmp_path):
    exits = window.state.net.exit_ids()
    config = write_config(tmp_path / "old.json", [exits[0], exits[-1]])
    assert window.load_config(tmp_path / "old.json")
    assert window.state.config == config
    assert "not checked against the model" in window.statusBar().currentMessage()


def other_weights(folder):
    """The bundled model's architecture (the same exits) with other weights."""
    import torch

    from core.models import save_model
    from core.models.io import load_model

    net, _ = load_model(BUNDLED_MODEL)
    with torch.no_grad():
        next(net.parameters()).add_(0.01)
    save_model(net, folder)
    return folder


def open_window(qtbot, path, model):
    state = AppState(device="cpu", backend="torch")
    win = MainWindow(Settings(path), state)
    qtbot.addWidget(win)
    with qtbot.waitSignal(state.model_changed, timeout=LOAD_TIMEOUT_MS):
        state.open_model(model)
    return win


def test_the_applied_configuration_is_restored_for_the_same_weights_only(qtbot, tmp_path, loaded_state):
    path = str(tmp_path / "persist.ini")
    first = MainWindow(Settings(path), loaded_state)
    qtbot.addWidget(first)
    exits = loaded_state.net.exit_ids()
    config = write_config(tmp_path / "c.json", [exits[0], exits[-1]], loaded_state.info.weights_sha256)
    assert first.load_config(tmp_path / "c.json")
    first.close()
    again = open_window(qtbot, path, BUNDLED_MODEL)
    assert again.state.config == config, "the same model: applied again"
    assert "Restored" in again.statusBar().currentMessage()
    again.close()
    other = open_window(qtbot, path, other_weights(tmp_path / "other"))
    assert other.state.net.exit_ids() == exits and other.state.config is None, "other weights: not applied"
    other.close()
    cleared = open_window(qtbot, path, BUNDLED_MODEL)
    assert cleared.state.config == config
    cleared.state.set_config(None)        # the full network chosen: nothing to restore next time
    cleared.close()
    last = open_window(qtbot, path, BUNDLED_MODEL)
    assert last.state.config is None
    last.close()


def test_a_damaged_remembered_configuration_is_forgotten(qtbot, tmp_path, capsys):
    path = str(tmp_path / "bad.ini")
    settings = Settings(path)
    settings.set("live/config", '{"format_version": 2, "exits": 3}')
    settings.sync()
    win = open_window(qtbot, path, BUNDLED_MODEL)
    assert win.state.config is None and Settings(path).get("live/config", "") == ""
    assert "'exits' must be a list" in capsys.readouterr().out
    win.close()

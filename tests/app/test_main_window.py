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

"""GUI tests run offscreen, with settings in a temporary INI file and the bundled model."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from app.settings import Settings  # noqa: E402
from app.state import AppState  # noqa: E402
from core.cli.common import BUNDLED_MODEL  # noqa: E402

LOAD_TIMEOUT_MS = 60_000


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(str(tmp_path / "settings.ini"))


@pytest.fixture
def loaded_state(qtbot) -> AppState:
    """An AppState with the bundled model loaded (on its worker, as the app does), on the torch backend
    (the pages' tests; test_runtime_menu runs the graph backends)."""
    state = AppState(device="cpu", backend="torch")
    with qtbot.waitSignal(state.model_changed, timeout=LOAD_TIMEOUT_MS):
        state.open_model(BUNDLED_MODEL)
    yield state
    state.wait()


@pytest.fixture
def window(qtbot, settings, loaded_state):
    """The main window on the bundled model; closed (workers stopped) at the end."""
    from app.main_window import MainWindow

    win = MainWindow(settings, loaded_state)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()


MEASURE_TIMEOUT_MS = 180_000


def shown_model_page(qtbot, state: AppState, settings: Settings):
    """The Model page on ``state``, shown at 1300x820, once it shows a cost table."""
    from app.pages.model_page import ModelPage

    page = ModelPage(state, settings)
    qtbot.addWidget(page)
    page.resize(1300, 820)
    page.show()
    qtbot.waitExposed(page)
    qtbot.waitUntil(lambda: page.table is not None, timeout=MEASURE_TIMEOUT_MS)
    return page

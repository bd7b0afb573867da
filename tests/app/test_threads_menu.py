"""Runtime > Threads and `mess gui --threads`: the app's limit on threads, persisted; a training job
started from the Train page claims its share of the cores."""

from __future__ import annotations

import pytest

from app.main import build_parser, choose_threads
from app.settings import Settings
from app.threads_menu import SETTING, ThreadsMenu, remembered_threads
from core.jobs import CancelToken, Progress, run_job
from core.threads import CORES, available_cores


@pytest.fixture(autouse=True)
def restore_cores():
    limit = CORES.limit
    yield
    CORES.set_limit(limit)


def test_the_menu_offers_every_core_and_each_count_and_remembers_the_choice(qtbot, settings):
    menu = ThreadsMenu(settings)
    qtbot.addWidget(menu)
    assert sorted(menu.actions_by_count) == list(range(available_cores() + 1))
    assert menu.actions_by_count[0].isChecked() and "Every core" in menu.actions_by_count[0].text()
    menu.actions_by_count[1].trigger()
    assert CORES.limit == 1 and settings.get(SETTING, 0) == 1
    assert menu.actions_by_count[1].isChecked()
    again = Settings(settings.path)
    choose_threads(again, None)                     # the next start: the remembered limit
    assert CORES.limit == 1
    menu.actions_by_count[0].trigger()
    assert CORES.limit is None and settings.get(SETTING, 1) == 0


def test_mess_gui_threads_overrides_the_setting_and_a_bad_stored_value_falls_back(tmp_path):
    settings = Settings(str(tmp_path / "s.ini"))
    args = build_parser().parse_args(["--threads", "1"])
    choose_threads(settings, args.threads)
    assert CORES.limit == 1 and settings.get(SETTING, 0) == 1
    with pytest.raises(SystemExit, match="--threads must be 0"):
        choose_threads(settings, -1)
    settings.set(SETTING, -7)
    assert remembered_threads(settings) == 0 and any(SETTING in p for p in settings.problems)


def test_the_window_s_runtime_menu_has_the_threads_entries(window):
    assert window.threads_menu.title() == "&Threads"
    runtime = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Runtime")
    assert window.threads_menu.menuAction() in runtime.actions()


def test_the_train_page_s_job_claims_the_train_share_while_it_runs(monkeypatch):
    import app.pages.train_page as train_page

    seen = []

    class FakeTrainer:
        def __init__(self, config, resume, cancel):
            pass

        def run(self):
            seen.append(CORES.jobs())
            yield Progress("epoch", 1, 1)
            return "trained"

    monkeypatch.setattr(train_page, "Trainer", FakeTrainer)
    assert run_job(train_page._train_job(object(), False)(CancelToken())) == "trained"
    assert seen == [("train",)] and "train" not in CORES.jobs()

"""The Train page, clicked through like a user: a tiny two-stage run on CPU, cancel and resume, bad input,
persisted settings, shortcuts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.pages import load_pages
from app.pages.train_page import TrainPage
from app.settings import Settings
from core.train.config import TrainConfig
from tests.train.conftest import files_under, one_thread, write_tiny_camvid

from .conftest import LOAD_TIMEOUT_MS

RUN_TIMEOUT_MS = 240_000


@pytest.fixture(autouse=True)
def single_thread():
    with one_thread():        # tiny tensors: one thread, or a shared 2-core machine crawls
        yield


@pytest.fixture
def data(tmp_path) -> Path:
    return write_tiny_camvid(tmp_path / "camvid")


@pytest.fixture
def page(qtbot, loaded_state, settings):
    page = TrainPage(loaded_state, settings)
    qtbot.addWidget(page)
    page.resize(1280, 760)
    page.show()
    yield page
    page.shutdown()


def select(combo, data) -> None:
    index = combo.findData(data)
    assert index >= 0, data
    combo.setCurrentIndex(index)


def type_into(qtbot, edit, text: str) -> None:
    edit.clear()
    qtbot.keyClicks(edit, text)
    edit.editingFinished.emit()


def fill_tiny_run(qtbot, page: TrainPage, data: Path | str, out: Path, epochs1: int = 1, epochs2: int = 1) -> None:
    """The page's form as `mess train` tests/train/conftest.tiny_argv: mobilenet_v3_large, batch 2, crop 32x48."""
    form = page.form
    type_into(qtbot, form.data.edit, str(data))
    type_into(qtbot, form.out.edit, str(out))
    select(form.backbone, "mobilenet_v3_large")
    select(form.stage, "all")
    form.epochs1.setValue(epochs1)
    form.epochs2.setValue(epochs2)
    form.batch.setValue(2)
    select(form.device, "cpu")
    qtbot.mouseClick(form.advanced.header, Qt.MouseButton.LeftButton)
    assert form.advanced.body.isVisible()
    type_into(qtbot, form.crop, "32x48")
    form.heads.setEditText("fcn-c64-b0")


def wait_idle(qtbot, page: TrainPage) -> None:
    qtbot.waitUntil(lambda: not page.running, timeout=RUN_TIMEOUT_MS)


def test_the_page_is_registered_as_train_with_ctrl_2(window, qtbot):
    entry = load_pages().get("train")
    assert (entry.title, entry.shortcut, entry.factory) == ("Train", "Ctrl+2", TrainPage)
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentWidget() is window.pages["train"]


def test_defaults_follow_the_open_model(page, loaded_state):
    assert page.form.backbone.currentData() == loaded_state.net.spec.backbone
    assert not page.cancel_button.isEnabled() and not page.resume_button.isEnabled()
    assert not page.open_button.isEnabled() and page.start_button.isEnabled()
    for button in (page.start_button, page.cancel_button, page.resume_button, page.open_button):
        assert button.toolTip()


def test_a_tiny_run_shows_curves_progress_and_log_then_opens_its_model(page, qtbot, data, tmp_path, loaded_state):
    out = tmp_path / "run"
    fill_tiny_run(qtbot, page, data, out)
    values: list[int] = []
    page.progress.valueChanged.connect(values.append)
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    assert page.running and page.cancel_button.isEnabled() and not page.start_button.isEnabled()
    assert not page.form.isEnabled()
    wait_idle(qtbot, page)
    assert "Finished" in page.message.text(), page.message.text()
    page.curves.redraw_if_changed()
    assert page.curves.loss_point_count() == 6                   # 3 steps per epoch, 1 epoch per stage
    assert page.curves.val_point_count() >= 2 * 6                # 5 early exits + final, each stage
    assert page.curves.legend_exits()[-1] == "final" and len(page.curves.legend_exits()) == 6
    assert {1, 2, 3} <= set(values)                              # the bar moved step by step
    log = page.log.toPlainText()
    assert "stage 1 epoch 1/1:" in log and "stage 2 epoch 1/1:" in log and f"trained model: {out / 'model'}" in log
    assert page.progress.text() == "finished"
    assert page.open_button.isEnabled() and page.start_button.isEnabled() and not page.cancel_button.isEnabled()
    assert not page.resume_button.isEnabled(), "a finished run has nothing to resume"
    with qtbot.waitSignal(loaded_state.model_changed, timeout=LOAD_TIMEOUT_MS):
        qtbot.mouseClick(page.open_button, Qt.MouseButton.LeftButton)
    assert loaded_state.folder == out / "model"
    assert page.form.backbone.currentData() == "mobilenet_v3_large"


def test_a_reopened_run_draws_its_loss_as_lines_like_a_live_one_and_the_first_eta_is_estimating(
        page, qtbot, data, tmp_path, loaded_state, settings):
    out = tmp_path / "run"
    fill_tiny_run(qtbot, page, data, out, epochs1=2, epochs2=1)
    formats: list[str] = []
    set_format = page.progress.setFormat
    page.progress.setFormat = lambda text: (formats.append(text), set_format(text))
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, page)
    assert "Finished" in page.message.text(), page.log.toPlainText()
    steps = [f for f in formats if f.startswith("stage 1 ") and " · step " in f]
    assert "ETA estimating..." in steps[0], "one step timed (with the start-up in it) is no estimate"
    assert "ETA estimating..." not in steps[-1] and "ETA 0" in steps[-1]    # 3 steps timed by stage 1's last
    live = {stage: page.curves.history.loss_curve(stage) for stage in (1, 2)}
    page.save_settings()
    reopened = TrainPage(loaded_state, settings)     # the app started again on the same run folder
    qtbot.addWidget(reopened)
    assert reopened.form.out.text() == str(out)
    reopened.curves.redraw_if_changed()
    items = reopened.curves.loss_items
    assert ("epoch", 1) not in items and ("epoch", 2) not in items, "restored epochs drawn as dots"
    for stage in (1, 2):
        xs, ys = live[stage]
        assert list(items[("raw", stage)].xData) == pytest.approx(xs)
        assert list(items[("raw", stage)].yData) == pytest.approx(ys, rel=1e-5)
        assert items[("smooth", stage)].opts["pen"] is not None and len(items[("smooth", stage)].xData) == len(xs)
    reopened.shutdown()


def test_cancel_keeps_a_checkpoint_and_resume_runs_to_the_end(page, qtbot, data, tmp_path):
    out = tmp_path / "run"
    fill_tiny_run(qtbot, page, data, out, epochs1=4, epochs2=1)

    def cancel_in_epoch_2(value: int) -> None:
        if value >= 4 and page.cancel_button.isEnabled():
            qtbot.mouseClick(page.cancel_button, Qt.MouseButton.LeftButton)

    page.progress.valueChanged.connect(cancel_in_epoch_2)
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, page)
    page.progress.valueChanged.disconnect(cancel_in_epoch_2)
    assert "Cancelled" in page.message.text(), page.log.toPlainText()
    assert "cancelled" in page.log.toPlainText()
    assert (out / "checkpoints" / "stage1.safetensors").is_file()
    assert not (out / "model").exists()
    assert page.resume_button.isEnabled() and not page.open_button.isEnabled()
    epochs_before = [json.loads(line)["epoch"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert epochs_before and max(epochs_before) < 3

    page.form.epochs1.setValue(1)                 # the run's own settings (run.json) win on resume
    qtbot.mouseClick(page.resume_button, Qt.MouseButton.LeftButton)
    assert page.running
    assert page.form.epochs1.value() == 4, "the form shows the resumed run's settings"
    log = page.log.toPlainText()
    assert f"earlier epochs of the run ({len(epochs_before)})" in log
    page.curves.redraw_if_changed()
    assert page.curves.loss_point_count() == 3 * len(epochs_before)    # the earlier epochs' steps, as lines
    assert ("epoch", 1) not in page.curves.loss_items
    wait_idle(qtbot, page)
    assert "Finished" in page.message.text(), page.log.toPlainText()
    log = page.log.toPlainText()
    assert "stage 1 epoch 4/4:" in log and "stage 2 epoch 1/1:" in log
    assert (out / "model" / "model.json").is_file()
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [(r["stage"], r["epoch"]) for r in lines] == [(1, 0), (1, 1), (1, 2), (1, 3), (2, 0)]
    assert page.open_button.isEnabled() and not page.resume_button.isEnabled()


def test_esc_cancels_and_ctrl_return_starts(page, qtbot, data, tmp_path):
    out = tmp_path / "run"
    fill_tiny_run(qtbot, page, data, out, epochs1=3, epochs2=1)
    page.form.data.edit.setFocus()
    qtbot.keyClick(page.form.data.edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert page.running
    qtbot.waitUntil(lambda: page.progress.value() >= 1, timeout=RUN_TIMEOUT_MS)
    qtbot.keyClick(page.log, Qt.Key.Key_Escape)
    wait_idle(qtbot, page)
    assert "Cancelled" in page.message.text()
    assert not (out / "model").exists()


def test_a_data_folder_without_images_gives_one_line_and_writes_nothing(page, qtbot, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "run"
    fill_tiny_run(qtbot, page, empty, out)
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, page)
    message = page.message.text()
    assert str(empty) in message and "\n" not in message, message
    assert "failed: " in page.log.toPlainText()
    assert not out.exists()
    assert page.start_button.isEnabled() and not page.resume_button.isEnabled()


def test_an_out_folder_holding_another_run_gives_one_line_and_is_left_alone(page, qtbot, data, tmp_path):
    out = tmp_path / "other-run"
    out.mkdir()
    (out / "run.json").write_text(json.dumps(TrainConfig(data=str(data), out=str(out)).to_json()))
    before = {p: p.read_bytes() for p in files_under(out)}
    fill_tiny_run(qtbot, page, data, out)
    assert page.resume_button.isEnabled(), "the folder holds an unfinished run"
    assert "Resume" in page.message.text()
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, page)
    message = page.message.text()
    assert "holds another run" in message and "\n" not in message, message
    assert {p: p.read_bytes() for p in files_under(out)} == before


def test_blank_fields_and_bad_sizes_are_refused_before_any_work(page, qtbot, data, tmp_path):
    page.form.data.set_text("")
    page.form.out.set_text(str(tmp_path / "run"))
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    assert not page.running and page.message.text() == "choose a dataset folder"
    page.form.data.set_text(str(data))
    type_into(qtbot, page.form.crop, "32by48")
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    assert not page.running and page.message.text().startswith("crop: '32by48' is not a size")
    page.form.crop.setText("32x48")
    page.form.heads.setEditText("no-such-head")
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    assert not page.running and "no-such-head" in page.message.text()
    assert not (tmp_path / "run").exists()


def test_settings_persist_into_a_new_page(qtbot, loaded_state, tmp_path, data):
    path = str(tmp_path / "persist.ini")
    first = TrainPage(loaded_state, Settings(path))
    qtbot.addWidget(first)
    type_into(qtbot, first.form.data.edit, str(data))
    type_into(qtbot, first.form.out.edit, str(tmp_path / "run"))
    first.form.epochs2.setValue(7)
    first.form.batch.setValue(3)
    select(first.form.device, "cpu")
    select(first.form.augment, "strong")
    first.form.advanced.set_expanded(True)
    first.save_settings()
    Settings(path).sync()
    second = TrainPage(loaded_state, Settings(path))
    qtbot.addWidget(second)
    assert second.form.data.text() == str(data)
    assert second.form.out.text() == str(tmp_path / "run")
    assert (second.form.epochs2.value(), second.form.batch.value()) == (7, 3)
    assert second.form.device.currentData() == "cpu"
    assert second.form.augment.currentData() == "strong"
    assert second.form.config().augment == "strong"
    assert second.form.advanced.is_expanded()


def test_a_run_folder_shows_its_runs_settings_and_a_form_that_disagrees_says_so(page, qtbot, loaded_state,
                                                                              tmp_path, data):
    out = tmp_path / "other-backbone"
    out.mkdir()
    run = TrainConfig(data=str(data), out=str(out), backbone="mobilenet_v3_large", batch_size=3, epochs_stage1=7,
                      crop=(32, 48), lr=0.02, augment="strong")
    (out / "run.json").write_text(json.dumps(run.to_json()))
    assert loaded_state.net.spec.backbone != "mobilenet_v3_large"
    type_into(qtbot, page.form.out.edit, str(out))
    form = page.form
    assert form.backbone.currentData() == "mobilenet_v3_large", "the form shows the run's backbone"
    assert (form.batch.value(), form.epochs1.value(), form.crop.text()) == (3, 7, "32x48")
    assert form.lr.value() == pytest.approx(0.02) and form.data.text() == str(data)
    assert form.augment.currentData() == "strong"
    assert page.form_note.isHidden(), page.form_note.text()
    with qtbot.waitSignal(loaded_state.model_changed, timeout=LOAD_TIMEOUT_MS):      # a model opened meanwhile
        loaded_state.open_model(loaded_state.folder)
    assert form.backbone.currentData() == "mobilenet_v3_large", "the open model changed the run's backbone"
    select(form.backbone, "resnet18")
    form.batch.setValue(4)
    note = page.form_note.text()
    assert page.form_note.isVisible() and "\n" not in note
    assert "backbone resnet18 (the run: mobilenet_v3_large)" in note and "batch size 4 (the run: 3)" in note
    select(form.backbone, "mobilenet_v3_large")
    form.batch.setValue(3)
    assert page.form_note.isHidden(), page.form_note.text()
    type_into(qtbot, form.out.edit, str(tmp_path / "new-run"))           # no run there: nothing to disagree with
    select(form.backbone, "resnet18")
    assert page.form_note.isHidden()


def test_the_forms_ranges_and_tooltips_come_from_the_training_settings(page):
    from core.train.config import option

    form = page.form
    for widget, name in ((form.epochs1, "epochs_stage1"), (form.epochs2, "epochs_stage2"), (form.batch, "batch_size"),
                         (form.seed, "seed"), (form.workers, "workers"), (form.lr, "lr"), (form.lr2, "lr_stage2")):
        spec = option(name)
        assert (widget.minimum(), widget.maximum()) == pytest.approx((spec.minimum, spec.maximum)), name
        assert spec.help[1:] in widget.toolTip(), name
    assert form.val_limit.minimum() == option("val_limit").minimum - 1 and form.val_limit.specialValueText() == "all"
    assert form.val_limit.maximum() == option("val_limit").maximum
    assert [form.device.itemData(i) for i in range(form.device.count())] == list(option("device").choice_list())
    assert "(--stage2-epochs)" in form.epochs2.toolTip() and "(--batch-size)" in form.batch.toolTip()


def test_stage2_alone_starts_from_the_open_model(page, loaded_state):
    select(page.form.stage, "2")
    page.form.data.set_text("/data")
    page.form.out.set_text("/run")
    assert not page.form.epochs1.isEnabled() and page.form.epochs2.isEnabled()
    config = page.form.config(open_model=str(loaded_state.folder))
    assert config.init_model == str(loaded_state.folder) and config.stage == "2"


def test_closing_the_window_cancels_the_run_and_waits_for_it(window, qtbot, data, tmp_path):
    page = window.pages["train"]
    window.show_page("train")
    out = tmp_path / "run"
    fill_tiny_run(qtbot, page, data, out, epochs1=5, epochs2=1)
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.progress.value() >= 1, timeout=RUN_TIMEOUT_MS)
    worker = page._worker
    window.close()
    assert not worker.is_running()
    assert not (out / "model").exists() and (out / "run.json").is_file()


@pytest.mark.parametrize("size", [(1400, 900), (1280, 800)])
def test_no_field_of_the_form_is_cut_off_at_the_right(window, qtbot, size):
    """The form's column was 340 px wide, narrower than its Advanced rows with the scroll bar: their fields
    were cut off at the right edge (the horizontal scroll bar is off)."""
    from tests.app.layout_checks import clipped_widgets

    window.resize(*size)
    window.show_page("train")
    page = window.pages["train"]
    page.form.advanced.set_expanded(True)
    qtbot.waitUntil(lambda: page.isVisible() and page.form.advanced.body.isVisible(), timeout=5000)
    qtbot.wait(50)
    assert clipped_widgets(page.controls, across_only=True) == []

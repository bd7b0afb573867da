"""The Search page, clicked through like a user: search, the front, the budget, save, apply, cancel, errors.

Runs on a copy of the bundled model (so calibration.npz never lands in assets/) with a tiny
CamVid-layout dataset written at test time, and, when ../shared/data is there, on real CamVid.
"""

from __future__ import annotations

import json
import shutil
from functools import lru_cache

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from app.pages.search_page import SearchPage
from app.settings import Settings
from app.state import AppState
from core.cli.common import BUNDLED_MODEL
from core.models.create import convert_to_folder
from core.models.io import MODEL_JSON, WEIGHTS_FILE, load_model
from core.profile.costs import measure_costs
from core.runtime.config import ExitConfig
from core.search.calibration_store import CalibrationStore
from core.search.session import choose, config_document
from tests.app.layout_checks import clipped_widgets
from tests.data.builders import noise_frames, write_camvid_pairs, write_video

from .conftest import LOAD_TIMEOUT_MS

SEARCH_TIMEOUT_MS = 240_000
SIZE = (48, 64)


@lru_cache(maxsize=1)
def bundled_net():
    return load_model(BUNDLED_MODEL)[0].eval()


def final_exit_labels(image_bgr: np.ndarray) -> np.ndarray:
    """The bundled model's final-exit labels of one image (normalised as the model records)."""
    net = bundled_net()
    mean, std = np.asarray(net.spec.mean, np.float32), np.asarray(net.spec.std, np.float32)
    rgb = image_bgr[..., ::-1].astype(np.float32) / 255.0
    x = torch.from_numpy(np.ascontiguousarray(((rgb - mean) / std).transpose(2, 0, 1)))[None]
    with torch.no_grad():
        return net(x, exits=["final"])["final"][0].argmax(0).numpy().astype(np.uint8)


def write_camvid(root, n: int, size=SIZE, seed: int = 0):
    """CamVid layout (val/ + valannot/): images of bands and boxes, labelled with the bundled model's own final
    exit (so that the full network is the most accurate configuration, whatever the bundled model does on such
    images, and cheaper exits trade accuracy for speed as on real footage), the bottom two rows void (11)."""
    rng = np.random.default_rng(seed)
    palette = rng.integers(0, 256, (12, 3))
    h, w = size

    def samples():
        for i in range(n):
            layout = np.full(size, 3, np.uint8)
            layout[: h // 3 + i % 5] = 0
            y, x = rng.integers(h // 3, h - 8), rng.integers(0, w - 12)
            layout[y:y + 8, x:x + 12] = 8
            image = np.clip(palette[layout] + rng.normal(0, 15, (*size, 3)), 0, 255).astype(np.uint8)
            label = final_exit_labels(image)
            label[-2:] = 11
            yield f"0001TP_{i:06d}.png", image, label

    return write_camvid_pairs(root, samples())


def copy_model(folder):
    folder.mkdir(parents=True)
    for name in (MODEL_JSON, WEIGHTS_FILE):
        shutil.copy2(BUNDLED_MODEL / name, folder / name)
    return folder


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return write_camvid(tmp_path_factory.mktemp("search-data") / "tiny", 6)


@pytest.fixture
def model_copy(tmp_path):
    return copy_model(tmp_path / "model")


@pytest.fixture
def state(qtbot, model_copy):
    state = AppState(device="cpu", backend="torch")
    with qtbot.waitSignal(state.model_changed, timeout=LOAD_TIMEOUT_MS):
        state.open_model(model_copy)
    yield state
    state.wait()


@pytest.fixture
def page(qtbot, state, settings):
    page = SearchPage(state, settings)
    qtbot.addWidget(page)
    page.resize(1300, 820)
    page.show()
    qtbot.waitExposed(page)
    yield page
    page.shutdown()


def run_search(page, qtbot, data, limit: int = 0) -> None:
    page.data_field.set_text(str(data))
    page.limit_spin.setValue(limit)
    qtbot.mouseClick(page.search_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.running() and page.search_button.isEnabled(), timeout=SEARCH_TIMEOUT_MS)
    assert page.outcome is not None, page.status.text()


@pytest.fixture
def searched(page, qtbot, tiny_data):
    """A search with a latency budget every configuration fits, however busy the machine (the default 100 ms is
    less than the cheapest configuration's latency on a loaded 2-core machine: nothing would be chosen)."""
    page.kind_combo.setCurrentIndex(page.kind_combo.findData("latency"))
    page.value_spin.setValue(60_000.0)
    run_search(page, qtbot, tiny_data)
    return page


def test_search_draws_the_front_and_chooses_within_the_budget(searched, model_copy, tmp_path):
    page = searched
    result = page.outcome.result
    assert page.outcome.images == 6 and page.outcome.input_size == SIZE
    assert result.count > 1000
    assert "Searched" in page.status.text() and "this machine" in page.status.text()
    slots = CalibrationStore.of_model(model_copy).slots()
    assert len(slots) == 1, "the cache is kept in the model folder, as the CLI does"
    front = page.plot.front
    # The labels are the full network's own output (write_camvid), so the front runs from cheap exits to it.
    assert len(front) >= 3 and np.array_equal(front, result.pareto_front("latency"))
    assert len(page.plot.front_points.data) == len(front)
    assert len(page.plot.cloud.data) == min(result.count, 6000)
    assert page.chosen is not None and page.apply_button.isEnabled() and page.save_button.isEnabled()
    assert page.chosen_labels["miou"].text().endswith(" %)")
    assert page.bars.fractions == pytest.approx(result.fractions(page.chosen))
    page.grab().save(str(tmp_path / "search_page.png"))


def measure(page, qtbot) -> None:
    qtbot.mouseClick(page.measure_button, Qt.MouseButton.LeftButton)
    assert page.running() and page.cancel_button.isEnabled() and not page.measure_button.isEnabled()
    qtbot.waitUntil(lambda: not page.running() and page.measure_button.isEnabled(), timeout=SEARCH_TIMEOUT_MS)


def test_measure_speed_up_runs_the_chosen_configuration_against_the_full_network(page, qtbot, tiny_data, tmp_path):
    """A quick calibration (3 of the 6 images): the other 3 are measured, both networks in one run."""
    assert not page.measure_button.isEnabled(), "nothing chosen yet"
    page.kind_combo.setCurrentIndex(page.kind_combo.findData("latency"))
    page.value_spin.setValue(60_000.0)
    run_search(page, qtbot, tiny_data, limit=3)
    result = page.outcome.result
    cascade = next(i for i in range(result.count) if len(result.config(i).exits) > 1)
    page.select(cascade)
    label = page.chosen_labels["measured"]
    assert label.text().startswith("not measured") and page.measure_button.isEnabled()
    measure(page, qtbot)
    measured = page.model.measured
    assert measured is not None and measured.index == cascade, page.status.text()
    predicted = result.summary(result.full_index)["mean_latency_ms"] / result.summary(cascade)["mean_latency_ms"]
    assert label.text().startswith(
        f"measured on 3 held-out images, same run: {measured.mean_latency_ms:.1f} ms against "
        f"{measured.full_mean_latency_ms:.1f} ms for the full network, x{measured.speedup:.2f} "
        f"(predicted x{predicted:.2f})")
    assert measured.mean_latency_ms > 0 and measured.full_mean_latency_ms > 0
    assert "mIoU" in label.text() and "Measured x" in page.status.text()
    qtbot.wait(50)      # the layout settles: the line is shown whole
    assert label.height() >= label.heightForWidth(label.width())
    page.grab().save(str(tmp_path / "search_measured.png"))
    other = next(i for i in range(result.count) if i not in (cascade, result.full_index))
    page.select(other)
    assert label.text().startswith("stale:"), "another configuration: the measurement is not its"
    page.select(cascade)
    assert label.text().startswith("measured on 3 held-out images")
    run_search(page, qtbot, tiny_data)         # a new search: nothing measured; every image calibrated on
    assert page.model.measured is None and label.text().startswith("not measured")
    qtbot.keyClick(page, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: page.model.measured is not None and not page.running(), timeout=SEARCH_TIMEOUT_MS)
    assert label.text().startswith("measured on 6 calibration images (none held out")


def test_moving_the_slider_chooses_at_once(searched, qtbot):
    page = searched
    result = page.outcome.result
    page.slider.setValue(page.slider.maximum() // 2)
    page.slider.setValue(page.slider.maximum())
    richest = page.chosen
    assert richest == choose(result, page.budget(), page.outcome.folds)[0]
    if page.outcome.folds is None:
        assert result.miou[richest] == pytest.approx(result.miou.max())
    else:      # the robust rule: the best worst-fold mIoU among what fits on every fold
        worst = np.min([r.miou for r in page.outcome.folds.per_fold], axis=0)
        fits = np.max([r.mean_latency_ms for r in page.outcome.folds.per_fold], axis=0) <= page.budget().value
        assert worst[richest] == pytest.approx(worst[fits].max())
        assert "the budget held on" in page.chosen_labels["held_out"].text()
    assert page.plot.budget_line.isVisible()
    assert page.plot.budget_line.value() == pytest.approx(result.mean_latency_ms.max(), rel=1e-3)
    page.slider.setValue(0)
    cheapest = page.chosen
    step = (result.mean_latency_ms.max() - result.mean_latency_ms.min()) / 1000   # one slider step
    assert result.mean_latency_ms[cheapest] <= result.mean_latency_ms.min() + 1e-6 + step
    assert cheapest != richest
    assert page.value_spin.value() == pytest.approx(result.mean_latency_ms.min(), abs=0.1)
    assert "at most" in page.chosen_labels["why"].text()
    # A budget below every configuration: a message, nothing chosen.
    page.value_spin.setValue(0.0)
    assert page.chosen is None and "no configuration fits" in page.chosen_labels["why"].text()
    assert not page.apply_button.isEnabled()
    # The accuracy floor: 0 pp keeps the full network's accuracy; the plot marks the floor.
    page.kind_combo.setCurrentIndex(page.kind_combo.findData("drop"))
    page.value_spin.setValue(0.0)
    assert result.miou[page.chosen] >= result.miou[result.full_index] - 1e-9
    assert page.plot.budget_line.angle == 0
    page.kind_combo.setCurrentIndex(page.kind_combo.findData("gflops"))
    assert page.plot.axis == "gflops"
    page.slider.setValue(page.slider.maximum())
    assert page.chosen == choose(result, page.budget(), page.outcome.folds)[0]


def test_hover_shows_a_configuration_and_click_selects_it(searched, qtbot):
    page = searched
    plot = page.plot
    front = plot.front
    target = next(int(i) for i in front[len(front) // 2:] if int(i) != page.chosen)
    pos = plot.point_position(target)
    qtbot.mouseMove(plot.viewport(), pos)
    qtbot.waitUntil(lambda: "mIoU" in page.hover_label.text(), timeout=5000)
    qtbot.mouseClick(plot.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: page.chosen is not None and page.chosen_labels["why"].text() == "a click on the front",
                    timeout=5000)
    chosen = page.chosen
    assert chosen in set(int(i) for i in front)
    assert page.outcome.result.miou[chosen] == pytest.approx(page.outcome.result.miou[target], abs=0.5)
    assert plot.chosen == chosen


def test_save_the_configuration_and_apply_it_to_live(searched, qtbot, tmp_path, monkeypatch):
    page = searched
    path = tmp_path / "out" / "config.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(path), "")))
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    result = page.outcome.result
    assert ExitConfig.load(path) == result.config(page.chosen)
    saved = json.loads(path.read_text())
    expected = config_document(result, page.chosen, page.outcome.table, page.outcome.images,
                               held_out=page.report_for(page.chosen), origin=page.state.config_origin())
    assert saved == json.loads(json.dumps(expected))
    assert saved["weights_sha256"] == page.state.info.weights_sha256 and saved["model"] == str(page.state.folder)
    assert set(saved["predicted"]) >= {"miou", "mean_latency_ms", "mean_gflops"}
    front_path = tmp_path / "front.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(front_path), "")))
    qtbot.mouseClick(page.save_front_button, Qt.MouseButton.LeftButton)
    assert len(json.loads(front_path.read_text())["front"]) == len(page.plot.front)
    with qtbot.waitSignal(page.state.config_changed) as applied:
        qtbot.mouseClick(page.apply_button, Qt.MouseButton.LeftButton)
    assert applied.args[0] == result.config(page.chosen) and page.state.config == applied.args[0]
    (tmp_path / "blocker").write_text("a file, not a folder")
    assert not page.save_config(tmp_path / "blocker" / "config.json")
    assert "cannot write" in page.status.text()
    # The saved file loads back (Load configuration...): checked against the model, applied to Live.
    page.state.set_config(None)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(path), "")))
    with qtbot.waitSignal(page.state.config_changed) as loaded:
        qtbot.mouseClick(page.load_button, Qt.MouseButton.LeftButton)
    assert loaded.args[0] == result.config(page.chosen) and "Applied config.json" in page.status.text()
    saved["weights_sha256"] = "0" * 64
    (tmp_path / "other.json").write_text(json.dumps(saved))
    assert not page.load_config(tmp_path / "other.json")
    assert "made for other weights" in page.status.text() and page.state.config == loaded.args[0]


def test_switching_calibration_sets_reuses_each_cache(searched, qtbot, model_copy, tiny_data, tmp_path, monkeypatch):
    """CamVid, other footage, CamVid again: the third search calibrates nothing."""
    page = searched
    other = write_camvid(tmp_path / "other", 4, seed=5)
    stages: list[str] = []
    monkeypatch.setattr(page, "_on_progress", lambda event: stages.append(event.stage))
    run_search(page, qtbot, other)
    assert "calibrate" in stages and len(CalibrationStore.of_model(model_copy).slots()) == 2
    stages.clear()
    run_search(page, qtbot, tiny_data)
    assert "calibrate" not in stages and page.outcome.images == 6, "the first set's cache reused"


@pytest.fixture(scope="module")
def bigger_data(tmp_path_factory):
    return write_camvid(tmp_path_factory.mktemp("bigger") / "data", 40, size=(96, 128), seed=3)


@pytest.mark.parametrize("how", ["button", "escape"])
def test_a_running_calibration_can_be_cancelled(page, qtbot, model_copy, bigger_data, how):
    page.data_field.set_text(str(bigger_data))
    page.limit_spin.setValue(0)
    qtbot.mouseClick(page.search_button, Qt.MouseButton.LeftButton)
    assert page.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: page.status.text().startswith("Calibrating"), timeout=SEARCH_TIMEOUT_MS)
    assert page.progress.maximum() == 40
    if how == "button":
        qtbot.mouseClick(page.cancel_button, Qt.MouseButton.LeftButton)
    else:
        qtbot.keyClick(page, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not page.running() and page.search_button.isEnabled(), timeout=SEARCH_TIMEOUT_MS)
    assert page.status.text() == "Search cancelled."
    assert page.outcome is None and not page.progress.isVisible() and not page.cancel_shortcut.isEnabled()
    assert CalibrationStore.of_model(model_copy).slots() == []


def test_a_bad_data_folder_gives_a_message(page, qtbot, tmp_path):
    page.data_field.set_text(str(tmp_path / "nothing-here"))
    qtbot.mouseClick(page.search_button, Qt.MouseButton.LeftButton)
    assert "nothing-here" in page.status.text() and "missing" in page.status.text()
    (tmp_path / "empty").mkdir()
    page.data_field.set_text(str(tmp_path / "empty"))
    qtbot.mouseClick(page.search_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.running() and page.search_button.isEnabled(), timeout=SEARCH_TIMEOUT_MS)
    assert "no known dataset layout" in page.status.text() and "\n" not in page.status.text()
    assert page.outcome is None
    page.data_field.set_text("")
    qtbot.mouseClick(page.search_button, Qt.MouseButton.LeftButton)
    assert "Choose the calibration dataset folder" in page.status.text()


def test_a_mismatching_latency_table_gives_a_message(page, qtbot, tmp_path, monkeypatch):
    other = tmp_path / "other"
    convert_to_folder("mobilenet_v3_large", other, points=["features.3"], input_size=SIZE)
    table = tmp_path / "other-table.json"
    measure_costs(load_model(other)[0], SIZE, latency=False).save(table)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(table), "")))
    qtbot.mouseClick(page.load_table_button, Qt.MouseButton.LeftButton)
    assert "measured on another model" in page.status.text() and "\n" not in page.status.text()
    assert page.table is None and page.here_radio.isChecked()
    broken = tmp_path / "broken.json"
    broken.write_text("[1, 2]")
    assert not page.load_table(broken)
    assert "not a latency table" in page.status.text()


def test_an_imported_table_sets_the_size_and_the_costs(page, qtbot, tiny_data, tmp_path, monkeypatch):
    net = page.state.net
    table = measure_costs(net, (32, 48), latency=True, warmup=0, repeats=1)
    table.device_description = "Test board"
    path = tmp_path / "board.json"
    table.save(path)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(path), "")))
    qtbot.mouseClick(page.load_table_button, Qt.MouseButton.LeftButton)
    assert page.table_radio.isChecked() and page.table_label.text() == "board.json: Test board, 32×48", "H×W"
    run_search(page, qtbot, tiny_data, limit=3)
    assert page.outcome.input_size == (32, 48) and page.outcome.images == 3
    assert page.outcome.table.device_description == "Test board"
    assert "board.json" in page.status.text() and "on 3 images (32×48)" in page.status.text()


def test_inputs_and_budget_persist(qtbot, state, settings, tmp_path):
    first = SearchPage(state, settings)
    qtbot.addWidget(first)
    first.data_field.set_text(str(tmp_path))
    first.split_combo.setCurrentText("test")
    first.limit_spin.setValue(7)
    first.kind_combo.setCurrentIndex(first.kind_combo.findData("gflops"))
    first.value_spin.setValue(0.75)
    first.kind_combo.setCurrentIndex(first.kind_combo.findData("drop"))
    first.value_spin.setValue(1.5)
    first.cost_combo.setCurrentIndex(first.cost_combo.findData("gflops"))
    first.save_settings()
    settings.sync()
    second = SearchPage(state, Settings(settings.path))
    qtbot.addWidget(second)
    assert second.data_field.text() == str(tmp_path)
    assert second.split_combo.currentText() == "test" and second.limit_spin.value() == 7
    assert second.kind() == "drop" and second.value_spin.value() == pytest.approx(1.5)
    assert second.cost_combo.currentData() == "gflops" and second.cost_combo.isVisibleTo(second)
    second.kind_combo.setCurrentIndex(second.kind_combo.findData("gflops"))
    assert second.value_spin.value() == pytest.approx(0.75)
    first.shutdown()
    second.shutdown()


def test_a_new_model_clears_the_result(searched, qtbot, tmp_path):
    page = searched
    other = copy_model(tmp_path / "again")
    with qtbot.waitSignal(page.state.model_changed, timeout=LOAD_TIMEOUT_MS):
        page.state.open_model(other)
    assert page.outcome is None and page.chosen is None and len(page.plot.front_points.data) == 0
    assert not page.apply_button.isEnabled()


def test_on_real_camvid_with_the_bundled_model(page, qtbot, camvid_root, tmp_path):
    page.kind_combo.setCurrentIndex(page.kind_combo.findData("drop"))
    page.value_spin.setValue(2.0)
    run_search(page, qtbot, camvid_root, limit=5)
    outcome = page.outcome
    assert outcome.images == 5 and outcome.input_size == (360, 480)
    result = outcome.result
    assert result.count > 100_000
    assert 30 < result.miou[result.full_index] < 90
    assert result.miou[page.chosen] >= result.miou[result.full_index] - 2.0 - 1e-9
    assert len(page.plot.front) > 10
    page.grab().save(str(tmp_path / "search_camvid.png"))


def test_in_the_window_ctrl_3_shows_it_and_hidden_pages_keep_their_shortcuts(window, qtbot, monkeypatch):
    calls = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda parent, *a, **k: calls.append(parent) or ("", "")))
    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    search = window.pages["search"]
    assert window.tabs.currentWidget() is search
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: len(calls) > 0, timeout=5000)     # a button's shortcut clicks it after a short animation
    qtbot.wait(300)
    assert calls == [search], "Ctrl+L loads a latency table on the visible page only (not the Model page's)"


def write_clip(path, frames: int = 8, size=SIZE) -> None:
    write_video(path, noise_frames(frames, size, seed=3, high=255))


def test_label_free_search_on_a_video_from_the_video_button(page, qtbot, tmp_path, monkeypatch):
    clip = tmp_path / "camera.mp4"
    write_clip(clip)
    assert not page.video_button.isVisibleTo(page) and page.split_combo.isEnabled()
    page.reference_combo.setCurrentIndex(page.reference_combo.findData("final exit"))
    assert page.video_button.isVisibleTo(page) and not page.split_combo.isEnabled()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kwargs: (str(clip), ""))
    qtbot.mouseClick(page.video_button, Qt.MouseButton.LeftButton)
    assert page.data_field.text() == str(clip)
    page.limit_spin.setValue(4)
    qtbot.mouseClick(page.search_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.running() and page.search_button.isEnabled(), timeout=SEARCH_TIMEOUT_MS)
    assert page.outcome is not None, page.status.text()
    assert page.outcome.reference == "final exit" and page.outcome.images == 4
    assert page.outcome.result.summary(page.outcome.result.full_index)["miou"] == pytest.approx(100.0)
    assert "agreement with the full network" in page.chosen_labels["miou"].text()
    left = page.plot.getPlotItem().getAxis("left").labelText
    assert left == "agreement with the full network (%)", "label-free results are not a predicted mIoU"
    out = tmp_path / "config.json"
    assert page.save_config(out)
    assert json.loads(out.read_text())["calibration_reference"] == "final exit"


def test_label_free_mode_persists_and_names_a_missing_file(page, qtbot, settings, state, tmp_path):
    page.reference_combo.setCurrentIndex(page.reference_combo.findData("final exit"))
    page.data_field.set_text(str(tmp_path / "gone.mp4"))
    qtbot.mouseClick(page.search_button, Qt.MouseButton.LeftButton)
    assert "gone.mp4" in page.status.text() and "missing" in page.status.text() and not page.running()
    page.save_settings()
    settings.sync()
    again = SearchPage(state, Settings(settings.path))
    qtbot.addWidget(again)
    assert again.label_free() and again.data_field.text() == str(tmp_path / "gone.mp4")
    again.shutdown()


@pytest.mark.parametrize("size", [(1400, 900), (1600, 1000), (1280, 800)])
def test_in_the_window_nothing_on_the_left_is_cut_off(window, qtbot, size):
    """At a 1400 px wide window the left panel used to get 348 px for content needing about 419: the Browse and
    Load buttons were cut off."""
    window.resize(*size)
    window.show_page("search")
    page = window.pages["search"]
    qtbot.waitUntil(lambda: page.isVisible() and page.width() > 0, timeout=5000)
    qtbot.wait(50)
    assert page.data_field.browse.isVisible() and page.load_table_button.isVisible()
    assert clipped_widgets(page.inputs) == []
    assert page.inputs.width() >= page.inputs.minimumSizeHint().width()
    page.reference_combo.setCurrentIndex(page.reference_combo.findData("final exit"))     # a third button, Video...
    qtbot.waitUntil(lambda: page.video_button.isVisible(), timeout=5000)
    qtbot.wait(50)
    assert clipped_widgets(page.inputs) == []
    page.latency_box.show_backend("a-backend-with-a-long-name", "and-its-precision")       # a wider panel at once
    qtbot.waitUntil(lambda: clipped_widgets(page.inputs) == [], timeout=2000)


def test_a_remembered_table_that_cannot_be_read_is_said_not_dropped_silently(qtbot, state, settings, tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    settings.set("search/table", str(deep))
    page = SearchPage(state, settings)
    qtbot.addWidget(page)
    assert page.table is None
    assert page.status.text().startswith("The remembered latency table was not loaded: ") and "deep.json" in \
        page.status.text()
    page.shutdown()

"""The Model page, clicked through like a user: what is open, the cost diagram, latency tables, converting."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from app.pages import model_page
from app.pages.model_page import ModelPage
from app.state import AppState
from core.cli.common import BUNDLED_MODEL
from core.models.create import convert_to_folder
from core.models.io import read_model_json
from core.profile.cache import CostCache
from core.profile.costs import measure_costs
from core.runtime.config import ExitConfig

from .conftest import LOAD_TIMEOUT_MS, MEASURE_TIMEOUT_MS, shown_model_page

KEPT = ["features.6:dlb-c128-b1", "features.12:fcn-c64-b0"]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A small converted model (two exit points, 48x64): quick to load and to measure."""
    folder = tmp_path_factory.mktemp("tiny-model") / "tiny"
    convert_to_folder("mobilenet_v3_large", folder, "camvid", "light", points=["features.3", "features.10"],
                      input_size=(48, 64))
    return folder


@pytest.fixture
def page(qtbot, loaded_state, settings):
    page = shown_model_page(qtbot, loaded_state, settings)
    yield page
    page.shutdown()


def test_shows_the_bundled_model_and_its_cost_diagram(page, tmp_path):
    labels = page.info_labels
    assert labels["name"].text() == BUNDLED_MODEL.name
    assert labels["backbone"].text().startswith("lraspp_mobilenet_v3_large")
    assert labels["input"].text() == "360×480 (H×W)", "sizes read H×W, as typed in the Convert form"
    assert "15 early exits at 5 points" in labels["exits"].text()
    assert "trained by mess train" in labels["origin"].text() and "epochs" in labels["origin"].text()
    final = read_model_json(BUNDLED_MODEL)[1].metrics["val_miou"]["final"]
    assert f"final {final:.1f} % mIoU" in labels["val"].text()
    assert [label.text() for label in page.legend.labels][:2] == ["0 Sky", "1 Building"]
    assert len(page.legend.labels) == 11
    view = page.diagram.breakdown
    assert [s.name for s in view.segments][0] == "features.3" and len(view.segments) == 7
    assert [len(p.heads) for p in view.points] == [3, 3, 3, 3, 3]
    assert view.has_latency and view.total_gflops > 1
    assert view.final.miou == pytest.approx(final, abs=0.01)
    assert "measured here" in page.costs_label.text() and "360×480 (H×W)" in page.costs_label.text()
    page.grab().save(str(tmp_path / "model_page.png"))
    assert (tmp_path / "model_page.png").stat().st_size > 10_000


def test_the_current_configuration_is_highlighted(page, qtbot):
    assert page.diagram.kept_exits() == ["final"]
    with qtbot.waitSignal(page.state.config_changed):
        page.state.set_config(ExitConfig(KEPT, [0.9, 0.9], [0.8, 0.0]))
    assert page.diagram.kept_exits() == KEPT
    page.diagram.repaint()
    kept_tips = [hit.tip for hit in page.diagram._hits if "(kept)" in hit.tip]
    assert [tip.splitlines()[0] for tip in kept_tips] == [f"{e}  (kept)" for e in KEPT]
    center = next(hit.rect.center() for hit in page.diagram._hits if hit.tip.startswith(KEPT[0]))
    assert page.diagram.tip_at(center.x(), center.y()).startswith(KEPT[0])
    page.state.set_config(None)
    assert page.diagram.kept_exits() == ["final"]


def test_load_a_latency_table_and_refuse_one_of_another_model(page, qtbot, tmp_path, monkeypatch, tiny_model):
    good = tmp_path / "jetson.json"
    data = page.table.to_json()
    data["device_description"] = "Jetson Orin (test)"
    good.write_text(json.dumps(data))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(good), "")))
    qtbot.mouseClick(page.load_table_button, Qt.MouseButton.LeftButton)
    assert page.table_source == str(good)
    assert "jetson.json" in page.costs_label.text() and "Jetson Orin (test)" in page.costs_label.text()
    assert page.diagram.breakdown.device_description == "Jetson Orin (test)"
    from core.models.io import load_model

    other_net, _ = load_model(tiny_model)
    other = tmp_path / "other.json"
    measure_costs(other_net, (48, 64), latency=False).save(other)
    assert not page.load_table(other)
    assert "measured on another model" in page.message.text() and "\n" not in page.message.text()
    assert page.table_source == str(good), "the shown table stays"
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert not page.load_table(broken)
    assert "broken.json: not valid JSON" in page.message.text()
    qtbot.mouseClick(page.measure_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.table_source == "", timeout=MEASURE_TIMEOUT_MS)
    assert "measured here" in page.costs_label.text()


def test_open_button_goes_through_the_state_and_measuring_can_be_cancelled(page, qtbot, monkeypatch, tiny_model):
    monkeypatch.setattr(model_page, "COST_CACHE", CostCache())     # nothing measured yet: a real measurement
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(tiny_model)))
    with qtbot.waitSignal(page.state.model_changed, timeout=LOAD_TIMEOUT_MS):
        qtbot.mouseClick(page.open_button, Qt.MouseButton.LeftButton)
    assert page.state.folder == tiny_model
    assert page.info_labels["name"].text() == "tiny"
    assert "converted by mess convert" in page.info_labels["origin"].text()
    assert page.info_labels["val"].text() == "no validation metrics in model.json"
    qtbot.waitUntil(lambda: page.table is not None, timeout=MEASURE_TIMEOUT_MS)
    assert [p.name for p in page.diagram.breakdown.points if p.heads] == ["features.3", "features.10"]
    assert page.diagram.breakdown.input_size == (48, 64)
    qtbot.waitUntil(lambda: not page.cancel_costs_button.isVisible(), timeout=MEASURE_TIMEOUT_MS)  # it has finished
    # Measure again from scratch and cancel at once.
    monkeypatch.setattr(model_page, "COST_CACHE", CostCache())
    page.measure_here()
    assert page.cancel_costs_button.isVisible()
    qtbot.mouseClick(page.cancel_costs_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.cancel_costs_button.isVisible(), timeout=MEASURE_TIMEOUT_MS)
    assert page.message.text() in ("Measuring cancelled.", "Opened " + str(tiny_model))


def convert_tiny(qtbot, page: ModelPage, out) -> None:
    """Convert mobilenet_v3_large with light heads at 48x64 into ``out`` through the form; wait until it is open."""
    page.backbone_combo.setCurrentText("mobilenet_v3_large")
    page.heads_combo.setCurrentText("light")
    page.size_edit.setText("48x64")
    page.out_field.set_text(str(out))
    with qtbot.waitSignal(page.state.model_changed, timeout=LOAD_TIMEOUT_MS * 2):
        qtbot.mouseClick(page.convert_button, Qt.MouseButton.LeftButton)


def test_convert_a_backbone_then_it_is_opened(page, qtbot, tmp_path):
    out = tmp_path / "converted"
    convert_tiny(qtbot, page, out)
    assert page.state.folder == out and (out / "model.json").is_file()
    assert page.state.net.spec.backbone == "mobilenet_v3_large" and page.state.net.spec.input_size == (48, 64)
    assert page.info_labels["name"].text() == "converted"
    # Again into the same folder: refused without 'replace', with a one-line message.
    qtbot.mouseClick(page.convert_button, Qt.MouseButton.LeftButton)
    assert "not empty" in page.convert_status.text()
    page.size_edit.setText("big")
    page.replace_check.setChecked(True)
    qtbot.mouseClick(page.convert_button, Qt.MouseButton.LeftButton)
    assert "input size" in page.convert_status.text()
    page.size_edit.setText("48x64")
    page.heads_combo.setCurrentText("nonsense-heads")
    qtbot.mouseClick(page.convert_button, Qt.MouseButton.LeftButton)
    assert "nonsense-heads" in page.convert_status.text()


def test_a_new_model_never_shows_beside_the_previous_models_diagram(page, qtbot, tmp_path, monkeypatch):
    """Convert, then, the moment the new model is open: its name, its summary and the diagram are all its own
    (the old diagram used to stay beside the new name until the new costs were measured, ~20 s)."""
    monkeypatch.setattr(model_page, "COST_CACHE", CostCache())     # the new model's costs take a while
    old = page.diagram.breakdown
    assert old is not None and old.input_size == (360, 480)
    seen = []

    def look() -> None:          # connected after the page: runs once the page has taken the new model
        breakdown = page.diagram.breakdown
        seen.append((page.info_labels["name"].text(), page.info_labels["input"].text(),
                     None if breakdown is None else breakdown.input_size, page.diagram.message,
                     page.costs_label.text()))

    page.state.model_changed.connect(look)
    out = tmp_path / "fresh"
    convert_tiny(qtbot, page, out)
    page.state.model_changed.disconnect(look)
    name, size, diagram_size, note, costs = seen[0]
    assert name == "fresh"
    assert diagram_size in (None, (48, 64)), "the previous model's diagram beside the new model's name"
    if diagram_size is None:
        assert "fresh" in note and "48×64" in costs
    assert size == "48×64 (H×W)"
    qtbot.waitUntil(lambda: page.table is not None, timeout=MEASURE_TIMEOUT_MS)
    assert page.diagram.breakdown.input_size == (48, 64) and "48×64 (H×W)" in page.costs_label.text()


def test_convert_settings_persist(qtbot, loaded_state, settings, tmp_path):
    first = ModelPage(loaded_state, settings)
    qtbot.addWidget(first)
    first.backbone_combo.setCurrentText("resnet18")
    first.heads_combo.setCurrentText("standard")
    first.out_field.set_text(str(tmp_path / "x"))
    first.size_edit.setText("240x320")
    first.save_settings()
    second = ModelPage(loaded_state, settings)
    qtbot.addWidget(second)
    assert second.backbone_combo.currentText() == "resnet18"
    assert second.heads_combo.currentText() == "standard"
    assert second.out_field.text() == str(tmp_path / "x") and second.size_edit.text() == "240x320"
    first.shutdown()
    second.shutdown()


def test_in_the_window_ctrl_1_shows_it_and_file_open_reaches_it(window, qtbot, monkeypatch, tiny_model):
    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    page = window.pages["model"]
    assert window.tabs.currentWidget() is page
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(tiny_model)))
    with qtbot.waitSignal(window.state.model_changed, timeout=LOAD_TIMEOUT_MS):
        qtbot.keyClick(window, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    assert page.info_labels["name"].text() == "tiny"
    qtbot.waitUntil(lambda: page.table is not None, timeout=MEASURE_TIMEOUT_MS)
    window.state.open_model(BUNDLED_MODEL)
    qtbot.waitUntil(lambda: window.state.folder == BUNDLED_MODEL, timeout=LOAD_TIMEOUT_MS)


def test_a_hidden_page_measures_only_when_shown(qtbot, settings, monkeypatch, tiny_model):
    monkeypatch.setattr(model_page, "COST_CACHE", CostCache())
    state = AppState(device="cpu", backend="torch")
    page = ModelPage(state, settings)
    qtbot.addWidget(page)
    with qtbot.waitSignal(state.model_changed, timeout=LOAD_TIMEOUT_MS):
        state.open_model(tiny_model)
    assert page.table is None and page.costs.pending
    page.show()
    qtbot.waitUntil(lambda: page.table is not None, timeout=MEASURE_TIMEOUT_MS)
    page.shutdown()
    state.wait()


def test_a_backend_change_remeasures_and_closing_starts_no_new_measurement(page, qtbot, monkeypatch, tiny_model):
    """A re-measurement queued behind a running one (backend changed) must not start once the page shuts down:
    it would run on after the window is gone (it did: 'Signal source has been deleted')."""
    monkeypatch.setattr(model_page, "COST_CACHE", CostCache())
    with qtbot.waitSignal(page.state.model_changed, timeout=LOAD_TIMEOUT_MS):
        page.state.open_model(tiny_model)
    qtbot.waitUntil(lambda: page.table is not None and not page.cancel_costs_button.isVisible(),
                    timeout=MEASURE_TIMEOUT_MS)
    monkeypatch.setattr(model_page, "COST_CACHE", CostCache())
    page.measure_here()
    first = page._cost_worker
    page.state.set_backend("onnxruntime")          # queued: the running measurement is for torch
    assert page.costs.remeasure or page._cost_worker is not first
    page.shutdown()
    qtbot.wait(300)                                # the old job's 'finished' arrives now
    assert page._cost_worker is first or not page._cost_worker.active()
    page.state.set_backend("torch")


def test_costs_show_their_spread_measure_again_re_measures_and_a_loaded_table_under_load_is_flagged(
        page, qtbot, monkeypatch, tiny_model, tmp_path):
    monkeypatch.setattr(model_page, "COST_CACHE", CostCache())
    with qtbot.waitSignal(page.state.model_changed, timeout=LOAD_TIMEOUT_MS):
        page.state.open_model(tiny_model)
    qtbot.waitUntil(lambda: page.table is not None and not page.cancel_costs_button.isVisible(),
                    timeout=MEASURE_TIMEOUT_MS)
    first = page.table
    assert "full network" in page.costs_label.text() and "p10" in page.costs_label.text()
    assert page.measure_button.text() == "Measure again"
    qtbot.mouseClick(page.measure_button, Qt.MouseButton.LeftButton)       # shown already: measure anew
    qtbot.waitUntil(lambda: page.table is not first and not page.cancel_costs_button.isVisible(),
                    timeout=MEASURE_TIMEOUT_MS)
    busy = page.table
    busy.extra["load"] = {"others_cpu_fraction": 0.7, "cpu_count": 2}
    busy.save(tmp_path / "busy.json")
    assert page.load_table(tmp_path / "busy.json")
    assert page.message.text().startswith("Latency not trustworthy: ")
    assert "measured while other processes used 70 % of the CPU" in page.message.text()

"""The Model page's pieces on their own: the Convert form, the costs bar and the summary box."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from app.widgets.convert_form import CLASSES_FILE_ITEM, ConvertForm
from app.widgets.costs_bar import CostsBar
from app.widgets.model_summary_box import ModelSummaryBox
from core.cli.common import BUNDLED_MODEL
from core.models.io import read_model_json
from core.models.summary import summarize
from core.profile.cost_display import CostsText


def test_a_classes_file_is_chosen_sent_and_remembered(qtbot, settings, tmp_path, monkeypatch):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"names": ["a", "b"], "palette": [[0, 0, 0], [9, 9, 9]], "ignore_index": 255}))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(path), "")))
    form = ConvertForm(settings)
    qtbot.addWidget(form)
    form.classes_combo.activated.emit(form.classes_combo.count() - 1)       # the user picks "classes.json file..."
    assert form.classes_combo.currentText() == "mine.json (file)"
    form.out_field.set_text(str(tmp_path / "out"))
    request = form.request()
    assert request.classes == str(path) and request.out == str(tmp_path / "out") and request.input_size == "360x480"
    assert request.check().class_set.names == ["a", "b"]
    form.save_settings()
    assert settings.get("model/convert/classes") == CLASSES_FILE_ITEM
    again = ConvertForm(settings)
    qtbot.addWidget(again)
    assert again.classes_combo.currentText() == "mine.json (file)" and again.request().classes == str(path)


def test_a_field_at_fault_is_shown_in_red_and_nothing_runs(qtbot, settings):
    form = ConvertForm(settings)
    qtbot.addWidget(form)
    form.out_field.set_text("")
    with qtbot.assertNotEmitted(form.converted):
        qtbot.mouseClick(form.convert_button, Qt.MouseButton.LeftButton)
    assert form.status.text() == "choose the output model folder first" and "b00020" in form.status.styleSheet()
    assert form.convert_button.isEnabled() and not form.progress.isVisibleTo(form)


def test_the_costs_bar_while_measuring_and_with_a_table(qtbot):
    bar = CostsBar()
    qtbot.addWidget(bar)
    bar.measuring("Measuring...")
    assert bar.costs_label.text() == "Measuring..." and not bar.measure_button.isEnabled()
    assert bar.progress.isVisibleTo(bar) and bar.cancel_button.isVisibleTo(bar)
    bar.set_progress(3, 10)
    assert (bar.progress.value(), bar.progress.maximum()) == (3, 10)
    bar.stopped()
    assert bar.measure_button.isEnabled() and not bar.cancel_button.isVisibleTo(bar)
    bar.show_table(CostsText("Costs measured here: x", "kept", "Measure again"))
    assert (bar.costs_label.text(), bar.costs_label.toolTip(), bar.measure_button.text()) == \
        ("Costs measured here: x", "kept", "Measure again")


def test_the_summary_box_shows_the_models_lines_and_classes(qtbot):
    box = ModelSummaryBox()
    qtbot.addWidget(box)
    spec, info = read_model_json(BUNDLED_MODEL)
    box.show_summary(summarize(spec, info), str(BUNDLED_MODEL))
    assert box.info_labels["name"].text() == BUNDLED_MODEL.name
    assert box.info_labels["name"].toolTip() == str(BUNDLED_MODEL)
    assert box.classes_title.text() == "Classes (camvid, 11):" and len(box.legend.labels) == 11

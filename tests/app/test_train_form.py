"""The Train form is generated from core.train.config's FORM_SECTIONS: every setting declared there has a widget
made from its type and Option (tooltip: its help and flag), and a setting added to a section appears in the form,
reaches the TrainConfig and is remembered (issue 14)."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QLineEdit, QSpinBox

import core.train.config as train_config
from app.settings import Settings
from app.widgets.folder_field import FolderField
from app.widgets.setting_fields import make_field
from app.widgets.train_form import TrainForm
from core.errors import ConfigError
from core.train.config import FormField, TrainConfig, flag_of, form_fields, option, options


def tip_of(widget) -> str:
    return widget.edit.toolTip() if isinstance(widget, FolderField) else widget.toolTip()


def form_rows(form: TrainForm) -> list[tuple[str, object]]:
    rows = []
    for layout in form.findChildren(QFormLayout):
        for row in range(layout.rowCount()):
            label = layout.itemAt(row, QFormLayout.ItemRole.LabelRole)
            field = layout.itemAt(row, QFormLayout.ItemRole.FieldRole).widget()
            rows.append((label.widget().text() if label is not None else "", field))
    return rows


@pytest.fixture
def form(qtbot):
    built = TrainForm()
    qtbot.addWidget(built)
    return built


def test_every_declared_setting_has_a_widget_whose_tooltip_is_its_help_and_flag(form):
    shown = [widget for _, widget in form_rows(form)]
    assert list(form.fields) == [item.name for _, item in form_fields()], "the form's fields, in core's order"
    for _, item in form_fields():
        spec = option(item.name)
        helps = [(e.help, e.flag) for e in spec.entries] or [(spec.help, flag_of(item.name))]
        rows = form.fields[item.name].rows()
        assert len(rows) == len(helps), item.name
        for (label, widget), (help_text, flag) in zip(rows, helps):
            assert widget in shown, f"{item.name}: its widget is not in the form"
            assert help_text[1:] in tip_of(widget) and f"({flag})" in tip_of(widget), item.name
    assert [label for label, _ in form_rows(form)][:3] == ["Dataset", "Run folder", "Backbone"]
    assert form.amp.text() == "Mixed precision on CUDA"


def test_any_setting_can_have_a_widget_from_its_type_and_option(qtbot):
    """A setting of any kind TrainConfig holds gets a widget, so adding one to a section is all it takes."""
    kinds = {}
    for name, spec in options():
        field = make_field(FormField(name))
        kinds[name] = type(field.widget)
        assert spec.help[1:] in tip_of(field.widget) or spec.entries, name
        assert field.rows()
    assert kinds["weight_decay"] is QDoubleSpinBox and kinds["warmup_iters"] is QSpinBox
    assert kinds["layout"] is QComboBox and kinds["scale"] is QLineEdit and kinds["amp"] is QCheckBox


ADDED = (FormField("weight_decay"), FormField("warmup_iters"), FormField("swa_lr", placeholder="--lr / 10"),
         FormField("layout", placeholder="detected"), FormField("scale"),
         FormField("pretrained", path="file", file_filter="Weights (*.safetensors)"), FormField("hold_out"),
         FormField("train_split", "Training split"))


@pytest.fixture
def extended(monkeypatch):
    """core's declaration with more settings in the advanced section."""
    sections = dict(train_config.FORM_SECTIONS)
    sections["advanced"] = sections["advanced"] + ADDED
    monkeypatch.setattr(train_config, "FORM_SECTIONS", tuple(sections.items()))


def test_a_setting_added_to_a_section_appears_in_the_form_and_reaches_the_config(qtbot, extended, tmp_path):
    form = TrainForm()
    qtbot.addWidget(form)
    labels = {label: widget for label, widget in form_rows(form)}
    assert {"Weight decay", "Warmup iters", "Swa lr", "Layout", "Scale", "Pretrained", "Hold out",
            "Training split"} <= set(labels)
    assert labels["Weight decay"] in form.advanced.body.findChildren(QDoubleSpinBox)
    assert labels["Weight decay"].maximum() == option("weight_decay").maximum
    assert labels["Layout"].itemText(0) == "detected" and labels["Swa lr"].specialValueText() == "--lr / 10"
    assert labels["Scale"].text() == "0.5,2" and labels["Pretrained"].file_filter == "Weights (*.safetensors)"
    form.data.set_text("/data")
    form.out.set_text("/run")
    assert form.config() == TrainConfig(data="/data", out="/run", backbone=form.backbone.currentData()), \
        "untouched, the new fields give the defaults"

    edits = []
    form.edited.connect(lambda: edits.append(1))
    form.fields["weight_decay"].widget.setValue(0.002)
    form.fields["layout"].show("camvid")
    form.fields["scale"].widget.setText("0.75,1.5")
    form.fields["pretrained"].widget.set_text("/w.safetensors")
    form.fields["swa_lr"].widget.setValue(0.004)
    form.fields["train_split"].widget.setText("train+val")
    assert len(edits) >= 6
    config = form.config()
    assert (config.weight_decay, config.layout, config.scale) == (0.002, "camvid", (0.75, 1.5))
    assert (config.pretrained, config.swa_lr, config.train_split) == ("/w.safetensors", 0.004, "train+val")

    path = str(tmp_path / "form.ini")
    form.save_settings(Settings(path))
    Settings(path).sync()
    assert Settings(path).get("train/weight_decay", 0.0) == pytest.approx(0.002)
    again = TrainForm()
    qtbot.addWidget(again)
    again.restore_settings(Settings(path))
    assert again.values() == form.values()

    shown = TrainForm()
    qtbot.addWidget(shown)
    shown.show_config(config)
    assert shown.values() == form.values()
    form.fields["scale"].widget.setText("2,1")
    with pytest.raises(ConfigError, match=r"^scale: range '2,1': MIN is above MAX$"):
        form.config()

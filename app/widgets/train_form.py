"""The settings of a training run, as a form that builds a core TrainConfig.

Its fields are core.train.config's FORM_SECTIONS, each made by app.widgets.setting_fields from its
setting's type and Option: dataset, backbone, stage, epochs, batch size, device and run folder up
front, the rest in a collapsible "Advanced" section, and a setting added to a section there appears
here. Checks of the values themselves are core's (TrainConfig and Trainer raise one-line errors);
the form only turns its text fields into values, and ties fields together (a backbone's options,
the stage's epochs).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFormLayout, QVBoxLayout, QWidget

from app.widgets.collapsible_section import CollapsibleSection
from app.widgets.setting_fields import EntriesField, SettingField, make_field, select
from core.errors import ConfigError
from core.models import BACKBONES
from core.train.config import TrainConfig, form_sections

PREFIX = "train/"
# The form's earlier names of some settings: its attributes (form.epochs1) and their settings keys
# (train/epochs1) keep them; every other field is the setting's own name.
ALIASES = {"epochs_stage1": "epochs1", "epochs_stage2": "epochs2", "batch_size": "batch", "lr_stage2": "lr2",
           "stage2_heads": "heads"}


class TrainForm(QWidget):
    """Every option of `mess train` the GUI offers (core's FORM_SECTIONS); ``config()`` makes the TrainConfig.

    ``fields`` holds each setting's SettingField by name; its widget is also an attribute (``form.crop``,
    ``form.epochs1`` under ALIASES) unless the name is taken (QWidget.layout). ``sections`` holds the
    collapsible sections by name (``advanced`` too). ``edited`` is emitted on every change of a setting (the
    run folder aside)."""

    edited = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fields: dict[str, SettingField] = {}
        self.sections: dict[str, CollapsibleSection] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for i, (section, items) in enumerate(form_sections()):
            rows = QFormLayout()
            for item in items:
                field = self.fields[item.name] = make_field(item)
                for label, widget in field.rows():
                    rows.addRow(label, widget)
            if i == 0:
                layout.addLayout(rows)
                continue
            body = QWidget()
            body.setLayout(rows)
            rows.setContentsMargins(12, 0, 0, 0)
            self.sections[section] = CollapsibleSection(section.capitalize(), body)
            layout.addWidget(self.sections[section])
        self._name_widgets()
        for i, name in enumerate(BACKBONES.names()):
            self.backbone.setItemData(i, BACKBONES.get(name).description, Qt.ItemDataRole.ToolTipRole)
        self.backbone.currentIndexChanged.connect(self._backbone_options)
        self.stage.currentIndexChanged.connect(self._stage_changed)
        self._backbone_options()
        self._stage_changed()
        self._connect_edited()

    def _name_widgets(self) -> None:
        for name, field in self.fields.items():
            if isinstance(field, EntriesField):
                named = dict(field.combos)
            else:
                named = {ALIASES.get(name, name): field.widget}
            for attribute, widget in named.items():
                if not hasattr(type(self), attribute):
                    setattr(self, attribute, widget)
        for name, section in self.sections.items():
            if not hasattr(type(self), name):
                setattr(self, name, section)

    def _connect_edited(self) -> None:
        for name, field in self.fields.items():
            if name != "out":               # the run folder: the page shows the run it holds instead
                field.connect(self.edited)

    # --- dependent fields -------------------------------------------------------------
    def _backbone_options(self) -> None:
        """The backbone's own options (its first value of each the default)."""
        adapter = BACKBONES.get(self.backbone.currentData())
        field = self.fields["backbone_options"]
        field.set_choices("output_stride", adapter.output_strides)
        field.set_choices("final_head", adapter.final_heads)

    def _stage_changed(self) -> None:
        stage = self.stage.currentData()
        self.epochs1.setEnabled(stage != "2")
        self.epochs2.setEnabled(stage != "1")

    def set_backbone(self, name: str, options: dict | None = None) -> None:
        """Select a backbone and its options (e.g. the open model's)."""
        if name in BACKBONES:
            select(self.backbone, name)
            self.fields["backbone_options"].show(options)

    # --- values ---------------------------------------------------------------------
    def values(self) -> dict:
        """The settings the form shows, as TrainConfig fields (the run folder aside); ConfigError (one
        line) for a size it cannot read."""
        return {name: field.value() for name, field in self.fields.items() if name != "out"}

    def config(self, open_model: str | None = None) -> TrainConfig:
        """The TrainConfig of the form; ConfigError (one line) for a value it cannot take.

        ``open_model`` is the initial model of a stage-2-alone run when none is given."""
        if not self.data.text():
            raise ConfigError("choose a dataset folder")
        if not self.out.text():
            raise ConfigError("choose a run folder (new or empty) for the output")
        values = self.values()
        if values["init_model"] is None and values["stage"] == "2":
            values["init_model"] = open_model or None
        return TrainConfig(out=self.out.text(), **values)

    def show_config(self, config: TrainConfig) -> None:
        """Fill the form with a run's config (a run being resumed), the run folder aside."""
        for name, field in self.fields.items():        # in the form's order: a backbone before its options
            if name == "backbone":
                self.set_backbone(config.backbone, config.backbone_options)
            elif name not in ("out", "backbone_options"):
                field.show(getattr(config, name))

    # --- settings -------------------------------------------------------------------
    def save_settings(self, settings) -> None:
        for name, field in self.fields.items():
            value = field.saved()
            if value is not None:
                settings.set(PREFIX + ALIASES.get(name, name), value)
        for name, section in self.sections.items():
            settings.set(PREFIX + name, section.is_expanded())

    def restore_settings(self, settings, backbone: str | None = None) -> None:
        """The last values; ``backbone`` (the open model's) wins over the remembered one."""
        for name, field in self.fields.items():
            field.restore(settings, PREFIX + ALIASES.get(name, name))
        if backbone is not None:
            self.set_backbone(backbone)
        for name, section in self.sections.items():
            section.set_expanded(settings.get(PREFIX + name, False))

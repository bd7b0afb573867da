"""The settings of a training run, as a form that builds a core TrainConfig.

It mirrors `mess train`: dataset, backbone, stage, epochs, batch size, device and
run folder up front, the rest in a collapsible "Advanced" section. Checks of the
values themselves are core's (TrainConfig and Trainer raise one-line errors);
the form only turns its text fields into values.
"""

from __future__ import annotations

import argparse

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.widgets.collapsible_section import CollapsibleSection
from app.widgets.folder_field import FolderField
from core.cli.common import parse_size
from core.errors import ConfigError
from core.models import BACKBONES
from core.train.config import TrainConfig, flag_of, option

STAGE_LABELS = {"all": "all: 1 then 2", "1": "1: exit-aware backbone", "2": "2: heads on a frozen backbone"}
DEFAULTS = TrainConfig(data="", out="")
PREFIX = "train/"


def _size_text(size: tuple[int, int] | None) -> str:
    return f"{size[0]}x{size[1]}" if size else ""


def tooltip(name: str, extra: str = "") -> str:
    """A field's tooltip: the setting's help and its `mess train` flag (core.train.config declares both)."""
    text = option(name).help
    return f"{text[0].upper()}{text[1:]}{extra} ({flag_of(name)})"


def _spin(name: str, special: str = "") -> QSpinBox:
    """A whole-number setting; with ``special``, one value below its minimum means None (e.g. 'all')."""
    spec = option(name)
    spin = QSpinBox()
    low = int(spec.minimum if spec.minimum is not None else 0)
    spin.setRange(low - 1 if special else low, int(spec.maximum if spec.maximum is not None else 2**31 - 1))
    default = getattr(DEFAULTS, name)
    spin.setValue(spin.minimum() if default is None else default)
    spin.setToolTip(tooltip(name))
    if special:
        spin.setSpecialValueText(special)
    return spin


def _real(name: str) -> QDoubleSpinBox:
    spec = option(name)
    spin = QDoubleSpinBox()
    spin.setDecimals(6)
    spin.setRange(spec.minimum if spec.minimum is not None else 0.0,
                  spec.maximum if spec.maximum is not None else 1e6)
    spin.setSingleStep(0.001)
    spin.setValue(getattr(DEFAULTS, name))
    spin.setToolTip(tooltip(name))
    return spin


def _entry_tip(key: str) -> str:
    entry = next(e for e in option("backbone_options").entries if e.key == key)
    return f"{entry.help[0].upper()}{entry.help[1:]} ({entry.flag})"


def _combo(items: list[tuple[str, str]], tip: str, editable: bool = False) -> QComboBox:
    combo = QComboBox()
    for label, data in items:
        combo.addItem(label, data)
    combo.setToolTip(tip)
    combo.setEditable(editable)
    return combo


def _select(combo: QComboBox, data: str) -> None:
    index = combo.findData(data)
    if index >= 0:
        combo.setCurrentIndex(index)
    elif combo.isEditable():
        combo.setEditText(data)


class TrainForm(QWidget):
    """Every option of `mess train` the GUI offers; ``config()`` makes the TrainConfig.

    ``edited`` is emitted on every change of a setting (the run folder aside)."""

    edited = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data = FolderField("Dataset folder", "labelled dataset folder (CamVid, image/mask, Cityscapes, VOC)",
                                tooltip("data", ": train/ and val/ splits"))
        self.out = FolderField("Run folder", "new or empty folder for the run",
                               tooltip("out", "; it holds run.json, metrics.jsonl, checkpoints/, model/"))
        self.backbone = _combo([(name, name) for name in BACKBONES.names()], tooltip("backbone"))
        for i, name in enumerate(BACKBONES.names()):
            self.backbone.setItemData(i, BACKBONES.get(name).description, 3)     # Qt.ToolTipRole
        self.stage = _combo([(label, key) for key, label in STAGE_LABELS.items()],
                            tooltip("stage"))
        self.epochs1 = _spin("epochs_stage1")
        self.epochs2 = _spin("epochs_stage2")
        self.batch = _spin("batch_size")
        self.device = _combo([(d, d) for d in option("device").choice_list()], tooltip("device"))
        basic = QFormLayout()
        basic.addRow("Dataset", self.data)
        basic.addRow("Run folder", self.out)
        basic.addRow("Backbone", self.backbone)
        basic.addRow("Stage", self.stage)
        basic.addRow("Epochs, stage 1", self.epochs1)
        basic.addRow("Epochs, stage 2", self.epochs2)
        basic.addRow("Batch size", self.batch)
        basic.addRow("Device", self.device)

        self.train_size = QLineEdit()
        self.train_size.setPlaceholderText("native")
        self.train_size.setToolTip(tooltip("train_size", "; empty: native"))
        self.crop = QLineEdit(_size_text(DEFAULTS.crop))
        self.crop.setToolTip(tooltip("crop"))
        self.eval_size = QLineEdit()
        self.eval_size.setPlaceholderText("native")
        self.eval_size.setToolTip(tooltip("eval_size", "; empty: native"))
        self.output_stride = _combo([], _entry_tip("output_stride"))
        self.final_head = _combo([], _entry_tip("final_head"))
        self.optimizer = _combo([(o, o) for o in option("optimizer").choice_list()], tooltip("optimizer"))
        self.lr = _real("lr")
        self.lr2 = _real("lr_stage2")
        self.loss = _combo([(n, n) for n in option("loss").choice_list()], tooltip("loss"))
        _select(self.loss, DEFAULTS.loss)
        self.augment = _combo([(n, n) for n in option("augment").choice_list()], tooltip("augment"))
        _select(self.augment, DEFAULTS.augment)
        self.heads = _combo([(n, n) for n in option("stage2_heads").names()],
                            tooltip("stage2_heads", ", such as fcn-c64-b0,dlb-c128-b1"), editable=True)
        _select(self.heads, DEFAULTS.stage2_heads)
        self.stage1_head = QLineEdit(DEFAULTS.stage1_head)
        self.stage1_head.setToolTip(tooltip("stage1_head"))
        self.init_model = FolderField("Initial model", "the open model (stage 2 alone)",
                                      tooltip("init_model", "; stage 2 alone: default the open model"))
        self.val_limit = _spin("val_limit", special="all")
        self.seed = _spin("seed")
        self.workers = _spin("workers")
        self.amp = QCheckBox("Mixed precision on CUDA")
        self.amp.setChecked(DEFAULTS.amp)
        self.amp.setToolTip(f"float16 autocast on CUDA devices; unchecked: {option('amp').help} (--no-amp)")
        body = QWidget()
        advanced = QFormLayout(body)
        advanced.setContentsMargins(12, 0, 0, 0)
        advanced.addRow("Train size", self.train_size)
        advanced.addRow("Crop", self.crop)
        advanced.addRow("Eval size", self.eval_size)
        advanced.addRow("Output stride", self.output_stride)
        advanced.addRow("Final head", self.final_head)
        advanced.addRow("Optimizer", self.optimizer)
        advanced.addRow("LR, stage 1", self.lr)
        advanced.addRow("LR, stage 2", self.lr2)
        advanced.addRow("Loss", self.loss)
        advanced.addRow("Augmentation", self.augment)
        advanced.addRow("Stage-2 heads", self.heads)
        advanced.addRow("Stage-1 head", self.stage1_head)
        advanced.addRow("Initial model", self.init_model)
        advanced.addRow("Validation images", self.val_limit)
        advanced.addRow("Seed", self.seed)
        advanced.addRow("Loader workers", self.workers)
        advanced.addRow("", self.amp)
        self.advanced = CollapsibleSection("Advanced", body)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(basic)
        layout.addWidget(self.advanced)
        self.backbone.currentIndexChanged.connect(self._backbone_options)
        self.stage.currentIndexChanged.connect(self._stage_changed)
        _select(self.backbone, DEFAULTS.backbone)
        self._backbone_options()
        self._stage_changed()
        self._connect_edited()

    def _connect_edited(self) -> None:
        self.data.changed.connect(self.edited)
        for kind in (QSpinBox, QDoubleSpinBox):
            for widget in self.findChildren(kind):
                widget.valueChanged.connect(self.edited)
        for combo in self.findChildren(QComboBox):
            combo.currentIndexChanged.connect(self.edited)
            if combo.isEditable():
                combo.editTextChanged.connect(self.edited)
        for edit in (self.train_size, self.crop, self.eval_size, self.stage1_head):
            edit.textChanged.connect(self.edited)
        self.init_model.changed.connect(self.edited)
        self.amp.toggled.connect(self.edited)

    # --- dependent fields -------------------------------------------------------------
    def _backbone_options(self) -> None:
        adapter = BACKBONES.get(self.backbone.currentData())
        for combo, values in ((self.output_stride, adapter.output_strides), (self.final_head, adapter.final_heads)):
            combo.clear()                  # the new backbone's defaults: another's options never carry over
            for value in values:
                combo.addItem(str(value), value)
            combo.setEnabled(len(values) > 1)

    def _stage_changed(self) -> None:
        stage = self.stage.currentData()
        self.epochs1.setEnabled(stage != "2")
        self.epochs2.setEnabled(stage != "1")

    def set_backbone(self, name: str, options: dict | None = None) -> None:
        """Select a backbone and its options (e.g. the open model's)."""
        if name in BACKBONES:
            _select(self.backbone, name)
            for key, combo in (("output_stride", self.output_stride), ("final_head", self.final_head)):
                if options and key in options:
                    _select(combo, options[key])

    # --- values ---------------------------------------------------------------------
    @staticmethod
    def _size(field: QLineEdit, name: str, required: bool = False) -> tuple[int, int] | None:
        text = field.text().strip()
        if not text:
            if required:
                raise ConfigError(f"{name}: give a size HxW such as 360x480")
            return None
        try:
            return parse_size(text)
        except argparse.ArgumentTypeError as exc:
            raise ConfigError(f"{name}: {exc}") from None

    def values(self) -> dict:
        """The settings the form shows, as TrainConfig fields (the run folder aside); ConfigError (one
        line) for a size it cannot read."""
        adapter = BACKBONES.get(self.backbone.currentData())
        options = {}
        if self.output_stride.currentData() not in (None, adapter.output_strides[0]):
            options["output_stride"] = self.output_stride.currentData()
        if self.final_head.currentData() not in (None, adapter.final_heads[0]):
            options["final_head"] = self.final_head.currentData()
        return dict(
            data=self.data.text(), backbone=self.backbone.currentData(),
            backbone_options=options, stage=self.stage.currentData(), epochs_stage1=self.epochs1.value(),
            epochs_stage2=self.epochs2.value(), batch_size=self.batch.value(),
            train_size=self._size(self.train_size, "train size"), crop=self._size(self.crop, "crop", True),
            eval_size=self._size(self.eval_size, "eval size"), optimizer=self.optimizer.currentData(),
            lr=self.lr.value(), lr_stage2=self.lr2.value(), loss=self.loss.currentData(),
            augment=self.augment.currentData(), stage1_head=self.stage1_head.text().strip() or DEFAULTS.stage1_head,
            stage2_heads=self.heads.currentText().strip() or DEFAULTS.stage2_heads,
            init_model=self.init_model.text() or None, val_limit=self.val_limit.value() or None,
            seed=self.seed.value(), device=self.device.currentData(), amp=self.amp.isChecked(),
            workers=self.workers.value(),
        )

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
        self.data.set_text(config.data or "")
        self.set_backbone(config.backbone, config.backbone_options)
        _select(self.stage, config.stage)
        self.epochs1.setValue(config.epochs_stage1)
        self.epochs2.setValue(config.epochs_stage2)
        self.batch.setValue(config.batch_size)
        _select(self.device, config.device)
        self.train_size.setText(_size_text(config.train_size))
        self.crop.setText(_size_text(config.crop))
        self.eval_size.setText(_size_text(config.eval_size))
        _select(self.optimizer, config.optimizer)
        self.lr.setValue(config.lr)
        self.lr2.setValue(config.lr_stage2)
        _select(self.loss, config.loss)
        _select(self.augment, config.augment)
        _select(self.heads, config.stage2_heads)
        self.stage1_head.setText(config.stage1_head)
        self.init_model.set_text(config.init_model or "")
        self.val_limit.setValue(config.val_limit or 0)
        self.seed.setValue(config.seed)
        self.workers.setValue(config.workers)
        self.amp.setChecked(config.amp)

    # --- settings -------------------------------------------------------------------
    def save_settings(self, settings) -> None:
        values = {"data": self.data.text(), "out": self.out.text(), "backbone": self.backbone.currentData(),
                  "stage": self.stage.currentData(), "epochs1": self.epochs1.value(),
                  "epochs2": self.epochs2.value(), "batch": self.batch.value(), "device": self.device.currentData(),
                  "train_size": self.train_size.text(), "crop": self.crop.text(), "eval_size": self.eval_size.text(),
                  "optimizer": self.optimizer.currentData(), "lr": self.lr.value(), "lr2": self.lr2.value(),
                  "loss": self.loss.currentData(), "augment": self.augment.currentData(),
                  "heads": self.heads.currentText(),
                  "stage1_head": self.stage1_head.text(), "init_model": self.init_model.text(),
                  "val_limit": self.val_limit.value(), "seed": self.seed.value(), "workers": self.workers.value(),
                  "amp": self.amp.isChecked(), "advanced": self.advanced.is_expanded()}
        for key, value in values.items():
            settings.set(PREFIX + key, value)

    def restore_settings(self, settings, backbone: str | None = None) -> None:
        """The last values; ``backbone`` (the open model's) wins over the remembered one."""
        get = lambda key, default: settings.get(PREFIX + key, default)  # noqa: E731

        def spin(widget, key: str, default) -> None:   # out-of-range values fall back to the default
            widget.setValue(settings.get(PREFIX + key, default, minimum=widget.minimum(), maximum=widget.maximum()))

        self.data.set_text(get("data", ""))
        self.out.set_text(get("out", ""))
        self.set_backbone(backbone or get("backbone", DEFAULTS.backbone))
        _select(self.stage, get("stage", DEFAULTS.stage))
        spin(self.epochs1, "epochs1", DEFAULTS.epochs_stage1)
        spin(self.epochs2, "epochs2", DEFAULTS.epochs_stage2)
        spin(self.batch, "batch", DEFAULTS.batch_size)
        _select(self.device, get("device", DEFAULTS.device))
        self.train_size.setText(get("train_size", ""))
        self.crop.setText(get("crop", _size_text(DEFAULTS.crop)))
        self.eval_size.setText(get("eval_size", ""))
        _select(self.optimizer, get("optimizer", DEFAULTS.optimizer))
        spin(self.lr, "lr", DEFAULTS.lr)
        spin(self.lr2, "lr2", DEFAULTS.lr_stage2)
        _select(self.loss, get("loss", DEFAULTS.loss))
        _select(self.augment, get("augment", DEFAULTS.augment))
        _select(self.heads, get("heads", DEFAULTS.stage2_heads))
        self.stage1_head.setText(get("stage1_head", DEFAULTS.stage1_head))
        self.init_model.set_text(get("init_model", ""))
        spin(self.val_limit, "val_limit", 0)
        spin(self.seed, "seed", DEFAULTS.seed)
        spin(self.workers, "workers", DEFAULTS.workers)
        self.amp.setChecked(get("amp", DEFAULTS.amp))
        self.advanced.set_expanded(get("advanced", False))

"""The Train form's widgets, one kind per kind of training setting, made from core.train.config's declarations.

``make_field`` turns a FormField into a SettingField from the setting's type and Option: a combo box for
choices or names, a spin box for a number (its range the Option's; a setting that may be None gets one
value below the range that means None, shown as the FormField's placeholder), a check box for a boolean,
a text field for a size HxW or a range MIN,MAX, a path field with Browse, a text field for other text, and
one combo box per Entry for a dict setting. Every widget's tooltip is the setting's help and its flag.
"""

from __future__ import annotations

import argparse

from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox, QWidget

from app.widgets.folder_field import FolderField
from core.cli.common import parse_size
from core.errors import ConfigError
from core.train.config import FormField, Option, SettingType, default_of, flag_of, option, setting_types

INT_MAX = 2**31 - 1
REAL_MAX = 1e6


def _sentence(text: str) -> str:
    return f"{text[0].upper()}{text[1:]}" if text else text


def tooltip(name: str, extra: str = "") -> str:
    """A field's tooltip: the setting's help and its `mess train` flag (core.train.config declares both)."""
    return f"{_sentence(option(name).help)}{extra} ({flag_of(name)})"


def select(combo: QComboBox, data) -> None:
    """Show the item whose data is ``data`` (an editable combo box: else the text)."""
    index = combo.findData(data)
    if index >= 0:
        combo.setCurrentIndex(index)
    elif combo.isEditable() and isinstance(data, str):
        combo.setEditText(data)


def _parse_range(text: str) -> tuple[float, float]:
    from core.cli.commands.train import parse_range   # `mess train`'s own reading of MIN,MAX

    return parse_range(text)


class SettingField:
    """One setting's widget in the form: the rows it adds, its value as TrainConfig takes it (``value``, a
    ConfigError of one line for text it cannot read), and as the settings file remembers it."""

    widget: QWidget

    def __init__(self, item: FormField, spec: Option, kind: SettingType) -> None:
        self.item, self.spec, self.kind = item, spec, kind
        self.name, self.label = item.name, item.text
        self.default = default_of(item.name)

    def rows(self) -> list[tuple[str, QWidget]]:
        return [(self.label, self.widget)]

    def value(self):
        raise NotImplementedError

    def show(self, value) -> None:
        raise NotImplementedError

    def saved(self):
        """What the settings file keeps (None: nothing)."""
        return self.value()

    def restore(self, settings, key: str) -> None:
        raise NotImplementedError

    def connect(self, slot) -> None:
        """Call ``slot`` on every change of the value."""
        raise NotImplementedError


class NumberField(SettingField):
    """A spin box over the Option's range; for a setting that may be None, one step below it is None."""

    def __init__(self, item: FormField, spec: Option, kind: SettingType) -> None:
        super().__init__(item, spec, kind)
        real = kind.kind is float
        self.widget = spin = QDoubleSpinBox() if real else QSpinBox()
        low = spec.minimum if spec.minimum is not None else 0
        high = spec.maximum if spec.maximum is not None else (REAL_MAX if real else INT_MAX)
        if real:
            spin.setDecimals(6)
            spin.setSingleStep(0.001)
            spin.setRange(float(low), float(high))   # None: the minimum itself (swa_lr: 0, which it refuses)
        else:
            spin.setRange(int(low) - 1 if kind.optional else int(low), int(high))
        if kind.optional:
            spin.setSpecialValueText(item.placeholder or "default")
        self.initial = spin.minimum() if self.default is None else self.default
        spin.setValue(self.initial)
        spin.setToolTip(tooltip(self.name, item.more))

    def value(self):
        value = self.widget.value()
        return None if self.kind.optional and value == self.widget.minimum() else value

    def show(self, value) -> None:
        self.widget.setValue(self.widget.minimum() if value is None else value)

    def saved(self):
        return self.widget.value()

    def restore(self, settings, key: str) -> None:      # out-of-range values fall back to the default
        self.widget.setValue(settings.get(key, self.initial, minimum=self.widget.minimum(),
                                          maximum=self.widget.maximum()))

    def connect(self, slot) -> None:
        self.widget.valueChanged.connect(slot)


class ChoiceField(SettingField):
    """A combo box of the choices (as ``choice_labels`` shows them) or of a registry's names; an editable one
    takes other text too. A setting that may be None starts with an item for None (the placeholder)."""

    def __init__(self, item: FormField, spec: Option, kind: SettingType) -> None:
        super().__init__(item, spec, kind)
        if item.choice_labels:
            items = [(label, choice) for choice, label in item.choice_labels]
        else:
            names = spec.choice_list() if spec.choices is not None else tuple(spec.names())
            items = [(name, name) for name in names]
        if kind.optional:
            items.insert(0, (item.placeholder or "default", ""))
        self.widget = combo = QComboBox()
        for label, data in items:
            combo.addItem(label, data)
        combo.setEditable(item.editable)
        combo.setToolTip(tooltip(self.name, item.more))
        select(combo, self.default if self.default is not None else "")

    def value(self):
        if self.widget.isEditable():
            return self.widget.currentText().strip() or self.default
        data = self.widget.currentData()
        return None if self.kind.optional and data == "" else data

    def show(self, value) -> None:
        select(self.widget, "" if value is None else value)

    def saved(self):
        return self.widget.currentText() if self.widget.isEditable() else self.widget.currentData()

    def restore(self, settings, key: str) -> None:
        select(self.widget, settings.get(key, self.default if self.default is not None else ""))

    def connect(self, slot) -> None:
        self.widget.currentIndexChanged.connect(slot)
        if self.widget.isEditable():
            self.widget.editTextChanged.connect(slot)


class CheckField(SettingField):
    """A check box, its label its own text; for a negated flag (--no-amp) the tooltip says what unchecked does."""

    def __init__(self, item: FormField, spec: Option, kind: SettingType) -> None:
        super().__init__(item, spec, kind)
        self.widget = QCheckBox(self.label)
        self.widget.setChecked(bool(self.default))
        if spec.negates:
            self.widget.setToolTip(f"{_sentence(item.more + '; unchecked: ' if item.more else 'unchecked: ')}"
                                   f"{spec.help} ({flag_of(self.name)})")
        else:
            self.widget.setToolTip(tooltip(self.name, item.more))

    def rows(self) -> list[tuple[str, QWidget]]:
        return [("", self.widget)]

    def value(self):
        return self.widget.isChecked()

    def show(self, value) -> None:
        self.widget.setChecked(bool(value))

    def restore(self, settings, key: str) -> None:
        self.widget.setChecked(settings.get(key, bool(self.default)))

    def connect(self, slot) -> None:
        self.widget.toggled.connect(slot)


class TextField(SettingField):
    """A text field: a size HxW, a range MIN,MAX or text; empty is None where the setting may be None, else the
    default (a size or range that has none is refused)."""

    def __init__(self, item: FormField, spec: Option, kind: SettingType) -> None:
        super().__init__(item, spec, kind)
        self.widget = QLineEdit(self.text_of(self.default))
        self.widget.setPlaceholderText(item.placeholder)
        self.widget.setToolTip(tooltip(self.name, item.more))

    def text_of(self, value) -> str:
        if value is None:
            return ""
        if self.kind.kind is tuple:
            return ("{}x{}" if self.kind.item is int else "{:g},{:g}").format(*value)
        return str(value)

    def value(self):
        text = self.widget.text().strip()
        if self.kind.kind is not tuple:
            return text or (None if self.kind.optional else self.default)
        sizes = self.kind.item is int
        if not text:
            if self.kind.optional:
                return None
            example = "a size HxW such as 360x480" if sizes else "a range MIN,MAX such as 0.5,2"
            raise ConfigError(f"{self.label.lower()}: give {example}")
        try:
            return parse_size(text) if sizes else _parse_range(text)
        except argparse.ArgumentTypeError as exc:
            raise ConfigError(f"{self.label.lower()}: {exc}") from None

    def show(self, value) -> None:
        self.widget.setText(self.text_of(value))

    def saved(self):
        return self.widget.text()

    def restore(self, settings, key: str) -> None:
        self.widget.setText(settings.get(key, self.text_of(self.default)))

    def connect(self, slot) -> None:
        self.widget.textChanged.connect(slot)


class PathField(SettingField):
    """A path with a Browse button (a folder, or a file with the FormField's filter); empty is None where the
    setting may be None."""

    def __init__(self, item: FormField, spec: Option, kind: SettingType) -> None:
        super().__init__(item, spec, kind)
        folder = item.path == "folder"
        caption = self.label if not folder or "folder" in self.label.lower() else f"{self.label} folder"
        self.widget = FolderField(caption, item.placeholder, tooltip(self.name, item.more),
                                  file_filter=None if folder else (item.file_filter or "All files (*)"))

    def value(self):
        return self.widget.text() or (None if self.kind.optional else "")

    def show(self, value) -> None:
        self.widget.set_text(value or "")

    def saved(self):
        return self.widget.text()

    def restore(self, settings, key: str) -> None:
        self.widget.set_text(settings.get(key, ""))

    def connect(self, slot) -> None:
        self.widget.changed.connect(slot)


class EntriesField(SettingField):
    """A dict setting: a combo box per Entry (labelled by its key), whose choices the form sets (``set_choices``;
    the first is the default, left out of the value). Not remembered: the choices change with other settings."""

    def __init__(self, item: FormField, spec: Option, kind: SettingType) -> None:
        super().__init__(item, spec, kind)
        self.combos: dict[str, QComboBox] = {}
        for entry in spec.entries:
            combo = QComboBox()
            combo.setToolTip(f"{_sentence(entry.help)} ({entry.flag})")
            self.combos[entry.key] = combo
        self.widget = next(iter(self.combos.values()))

    def rows(self) -> list[tuple[str, QWidget]]:
        return [(key.replace("_", " ").capitalize(), combo) for key, combo in self.combos.items()]

    def set_choices(self, key: str, values) -> None:
        combo = self.combos[key]
        combo.clear()                     # the new choices' default: earlier ones never carry over
        for value in values:
            combo.addItem(str(value), value)
        combo.setEnabled(len(values) > 1)

    def value(self) -> dict:
        found = {}
        for key, combo in self.combos.items():
            if combo.currentData() is not None and combo.currentIndex() > 0:
                found[key] = combo.currentData()
        return found

    def show(self, value) -> None:
        for key, data in (value or {}).items():
            if key in self.combos:
                select(self.combos[key], data)

    def saved(self):
        return None

    def restore(self, settings, key: str) -> None:
        pass

    def connect(self, slot) -> None:
        for combo in self.combos.values():
            combo.currentIndexChanged.connect(slot)


def make_field(item: FormField) -> SettingField:
    """The widget of a FormField, from its setting's type and Option."""
    spec, kind = option(item.name), setting_types()[item.name]
    if spec.entries:
        return EntriesField(item, spec, kind)
    if kind.kind is bool:
        return CheckField(item, spec, kind)
    if item.path is not None:
        return PathField(item, spec, kind)
    if spec.choices is not None or spec.names is not None or item.choice_labels:
        return ChoiceField(item, spec, kind)
    if kind.kind in (int, float):
        return NumberField(item, spec, kind)
    if kind.kind in (tuple, str):
        return TextField(item, spec, kind)
    raise TypeError(f"{item.name}: the Train form has no widget for a {kind.kind.__name__} setting")

"""The Search page's budget: its kind, the cost an accuracy floor minimises, and a slider and a spin box that
move together over the search's range. It displays a core.search.budget_model.BudgetModel."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QSlider, QWidget

from core.search.budget_model import COST_TITLES, DECIMALS, KIND_TITLES, MAX_VALUE, SLIDER_STEPS, SUFFIX, \
    BudgetModel, is_floor
from core.search.session import Budget


class BudgetBox(QGroupBox):
    """``axis_changed`` (the plot's cost axis may have changed), then ``changed``: choose again."""

    axis_changed = Signal()
    changed = Signal()

    def __init__(self, model: BudgetModel, parent: QWidget | None = None) -> None:
        super().__init__("Budget", parent)
        self.model = model
        self._syncing = False
        form = QFormLayout(self)
        self.kind_combo = QComboBox(self)
        for kind, title in KIND_TITLES.items():
            self.kind_combo.addItem(title, kind)
        self.kind_combo.setToolTip("Latency / GFLOPs: the most accurate configuration within that mean cost. "
                                   "Accuracy floor: the cheapest configuration at most that many mIoU points "
                                   "below the full network")
        self.kind_combo.currentIndexChanged.connect(self._on_kind_changed)
        form.addRow("Kind:", self.kind_combo)
        self.cost_combo = QComboBox(self)
        for cost, title in COST_TITLES.items():
            self.cost_combo.addItem(title, cost)
        self.cost_combo.setToolTip("What an accuracy floor minimises")
        self.cost_combo.currentIndexChanged.connect(self._on_cost_changed)
        self.cost_label = QLabel("Minimise:", self)
        form.addRow(self.cost_label, self.cost_combo)
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setToolTip("Move the budget: the best configuration within it is chosen at once")
        self.slider.valueChanged.connect(self._on_slider)
        self.value_spin = QDoubleSpinBox(self)
        self.value_spin.setRange(0.0, MAX_VALUE)
        self.value_spin.setKeyboardTracking(False)
        self.value_spin.setToolTip("The budget's value")
        self.value_spin.valueChanged.connect(self._on_spin)
        row = QHBoxLayout()
        row.addWidget(self.slider, 1)
        row.addWidget(self.value_spin)
        form.addRow("Value:", row)
        self.range_label = QLabel("", self)
        self.range_label.setStyleSheet("color: #6b7280;")
        form.addRow("", self.range_label)

    def kind(self) -> str:
        return self.model.kind

    def budget(self) -> Budget:
        return self.model.budget()

    def set_result(self, result) -> None:
        """The search result (None: none yet) whose costs the slider spans."""
        self.model.set_result(result)
        self.update_range()

    def update_range(self) -> None:
        self.range_label.setText(self.model.range_text())
        self._sync_slider()

    def _on_kind_changed(self, *_) -> None:
        self.model.set_kind(self.kind_combo.currentData())
        kind = self.model.kind
        floor = is_floor(kind)
        self.cost_combo.setVisible(floor)
        self.cost_label.setVisible(floor)
        self._syncing = True
        self.value_spin.setDecimals(DECIMALS[kind])
        self.value_spin.setSuffix(SUFFIX[kind])
        self.value_spin.setSingleStep(self.model.step())
        self.value_spin.setValue(self.model.value)
        self._syncing = False
        self.axis_changed.emit()
        self.update_range()
        self.changed.emit()

    def _on_cost_changed(self, *_) -> None:
        self.model.set_cost(self.cost_combo.currentData())
        self.axis_changed.emit()
        self.changed.emit()

    def _sync_slider(self) -> None:
        self._syncing = True
        self.slider.setValue(self.model.position())
        self._syncing = False

    def _on_slider(self, position: int) -> None:
        if self._syncing:
            return
        value = self.model.set_position(position)
        self._syncing = True
        self.value_spin.setValue(value)
        self._syncing = False
        self.changed.emit()

    def _on_spin(self, value: float) -> None:
        if self._syncing:
            return
        self.model.set_value(value)
        self._sync_slider()
        self.changed.emit()

    # --- settings -------------------------------------------------------------------------------
    def restore(self, settings) -> None:
        for kind in KIND_TITLES:
            self.model.values[kind] = settings.get(f"search/budget/{kind}", self.model.values[kind], minimum=0.0,
                                                   maximum=MAX_VALUE)
        self.cost_combo.setCurrentIndex(max(self.cost_combo.findData(settings.get("search/drop_cost", "latency")), 0))
        self.kind_combo.setCurrentIndex(max(self.kind_combo.findData(settings.get("search/budget_kind", "latency")), 0))
        self._on_kind_changed()

    def save_settings(self, settings) -> None:
        settings.set("search/budget_kind", self.model.kind)
        settings.set("search/drop_cost", self.model.cost)
        for kind, value in self.model.values.items():
            settings.set(f"search/budget/{kind}", float(value))

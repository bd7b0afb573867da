"""Two sliders for the exit policy's thresholds, th_pix and th_img (0..1, two decimals).

``changed(th_pix, th_img)`` comes on every move (by mouse, keys or ``set_values(...,
emit=True)``); ``set_values`` without ``emit`` only shows values (a configuration
arriving from the Search page).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QGridLayout, QLabel, QSlider, QWidget

STEPS = 100
ROWS = (
    ("th_pix", "th_pix", "Pixel confidence threshold: a pixel counts as confident when its confidence is at least "
                         "this (0 = every pixel, 1 = only certain ones)"),
    ("th_img", "th_img", "Image threshold: a frame leaves at an exit when at least this share of its pixels is "
                         "confident (0 = every frame leaves at the first exit, 1 = all go to the last)"),
)


class ThresholdSliders(QWidget):
    """th_pix and th_img, each a slider with its value beside it."""

    changed = Signal(float, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sliders: dict[str, QSlider] = {}
        self.values: dict[str, QLabel] = {}
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        for row, (key, title, tip) in enumerate(ROWS):
            name = QLabel(title, self)
            slider = QSlider(Qt.Orientation.Horizontal, self)
            slider.setRange(0, STEPS)
            slider.setPageStep(5)
            slider.setToolTip(tip)
            slider.setObjectName(key)
            value = QLabel("0.90", self)
            value.setFont(mono)
            value.setMinimumWidth(40)
            slider.valueChanged.connect(lambda _=0, k=key: self._moved(k))
            grid.addWidget(name, row, 0)
            grid.addWidget(slider, row, 1)
            grid.addWidget(value, row, 2)
            self.sliders[key], self.values[key] = slider, value
        grid.setColumnStretch(1, 1)
        self._quiet = False
        self.set_values(0.9, 0.9)                 # ExitConfig's defaults

    @property
    def th_pix(self) -> float:
        return self.sliders["th_pix"].value() / STEPS

    @property
    def th_img(self) -> float:
        return self.sliders["th_img"].value() / STEPS

    def set_values(self, th_pix: float, th_img: float, emit: bool = False) -> None:
        self._quiet = True
        try:
            for key, value in (("th_pix", th_pix), ("th_img", th_img)):
                self.sliders[key].setValue(round(float(value) * STEPS))
                self.values[key].setText(f"{self.sliders[key].value() / STEPS:.2f}")
        finally:
            self._quiet = False
        if emit:
            self.changed.emit(self.th_pix, self.th_img)

    def _moved(self, key: str) -> None:
        self.values[key].setText(f"{self.sliders[key].value() / STEPS:.2f}")
        if not self._quiet:
            self.changed.emit(self.th_pix, self.th_img)

"""A one-row legend of the exit colours: which border and badge colour means which exit.

Shown in presentation mode, above the readouts: a chip per kept exit of the configuration
that runs, shallow to deep, "■ features.3 · exit 1", in the exit ramp's colours (green shallow,
red final), so an audience can read the frame's border without the side panel.
"""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from core.runtime.video.overlay import text_colour

RGB = tuple[int, int, int]


class ExitLegend(QWidget):
    """``set_exits([(short name, rgb), ...])`` refills the row; ``chips`` are its labels."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._row = QHBoxLayout(self)
        self._row.setContentsMargins(0, 0, 0, 0)
        self._row.setSpacing(8)
        self.caption = QLabel("Border colour = the exit taken:", self)
        self.caption.setStyleSheet("font-weight: bold;")
        self._row.addWidget(self.caption)
        self._row.addStretch(1)
        self.chips: list[QLabel] = []
        self.setToolTip("The colour of each frame's border and badge says which exit answered it")

    def set_exits(self, exits: list[tuple[str, RGB]]) -> None:
        for chip in self.chips:
            self._row.removeWidget(chip)
            chip.deleteLater()
        self.chips = []
        for i, (name, rgb) in enumerate(exits):
            fg = "#%02x%02x%02x" % text_colour(rgb)
            chip = QLabel(f"exit {i + 1} of {len(exits)} · {name}", self)
            chip.setStyleSheet(f"background: #{rgb[0]:02x}{rgb[1]:02x}{rgb[2]:02x}; color: {fg}; "
                               "font-weight: bold; font-size: 13pt; padding: 4px 12px; border-radius: 4px;")
            self._row.insertWidget(self._row.count() - 1, chip)
            self.chips.append(chip)

    def texts(self) -> list[str]:
        return [chip.text() for chip in self.chips]

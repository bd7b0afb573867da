"""The Live page's per-frame numbers in large type, readable from the back of a room.

Six tiles: the exit taken (on the exit's own colour, green shallow to red final, its detail in
plain words), the latency, the rolling FPS, the confidence, the frames dropped and the frame
counter (both per pass through a looped file); the texts are core.runtime.video.live_readout's.
``set_max_scale`` lets them grow (presentation mode); the type always shrinks to fit the tiles.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetricsF
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from core.runtime.video.live_readout import TOOLTIPS, Readouts
from core.runtime.video.overlay import text_colour

NEUTRAL = "#2b2d33"
TILES = (("exit", "Exit taken"), ("latency", "Latency"), ("fps", "FPS"), ("confidence", "Confidence"),
         ("dropped", "Dropped"), ("frame", "Frame"))
VALUE_PT = 24
MIN_SCALE = 0.5
# wide values of each tile: the type shrinks until these fit (a long text never widens the window)
WIDE_VALUES = {"exit": "features.12", "latency": "999 ms", "fps": "30.0", "confidence": "100 %",
               "dropped": "9999", "frame": "9999"}
STRETCH = {"exit": 6, "latency": 4}           # the rest: 3


class _Tile(QFrame):
    def __init__(self, caption: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tile")
        self.caption = QLabel(caption.upper(), self)
        self.value = QLabel("–", self)
        self.detail = QLabel("", self)
        for label in (self.caption, self.value, self.detail):
            label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            # a longer text never widens the window (a full-screen window forced wider leaves full screen)
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.value.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.detail.setWordWrap(True)               # the exit's plain words may take two lines
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.setSpacing(0)
        layout.addWidget(self.caption)
        layout.addWidget(self.value)
        layout.addWidget(self.detail)
        self._colours: tuple[str, str] | None = None
        self.set_colours(NEUTRAL, "#ffffff")

    def set_colours(self, background: str, foreground: str) -> None:
        if self._colours == (background, foreground):
            return                                  # a style sheet costs a re-polish: only when it changes
        self._colours = (background, foreground)
        self.setStyleSheet(f"QFrame#tile {{ background: {background}; border-radius: 6px; }}"
                           f"QLabel {{ color: {foreground}; background: transparent; }}")


class LiveReadouts(QWidget):
    """``show(readouts)`` fills the tiles; ``clear()`` empties them."""

    def __init__(self, columns: int = 6, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tiles: dict[str, _Tile] = {}
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(6)
        for i, (key, caption) in enumerate(TILES):
            tile = _Tile(caption, self)
            tile.setToolTip(TOOLTIPS[key])
            self.tiles[key] = tile
            grid.addWidget(tile, i // columns, i % columns)
            grid.setColumnStretch(i % columns, STRETCH.get(key, 3))
        self.scale = 0.0
        self._max_scale = 1.0
        self.set_scale(1.0)

    def set_scale(self, scale: float) -> None:
        """Font sizes: value 24 pt x scale, caption 9 pt and detail 10 pt x scale."""
        self.scale = scale
        base = QFont(self.font())
        for tile in self.tiles.values():
            for label, size, bold in ((tile.caption, 9, True), (tile.value, VALUE_PT, True), (tile.detail, 10, False)):
                font = QFont(base)
                font.setPointSizeF(size * scale)
                font.setBold(bold)
                label.setFont(font)

    def set_max_scale(self, largest: float) -> None:
        """Let the type grow up to ``largest`` times (presentation mode), as far as the tiles' width allows."""
        self._max_scale = largest
        self._fit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        """The largest scale (up to the maximum) at which a wide value of each tile fits its width."""
        font = QFont(self.font())
        font.setPointSizeF(VALUE_PT)
        font.setBold(True)
        metrics = QFontMetricsF(font)
        scale = self._max_scale
        for key, tile in self.tiles.items():
            margins = tile.layout().contentsMargins()
            room = tile.width() - margins.left() - margins.right() - 4
            need = metrics.horizontalAdvance(WIDE_VALUES[key])
            if room > 0 and need > 0:
                scale = min(scale, room / need)
        scale = max(MIN_SCALE, round(scale, 2))
        if abs(scale - self.scale) > 0.02:
            self.set_scale(scale)

    def text(self, key: str) -> str:
        return self.tiles[key].value.text()

    def detail(self, key: str) -> str:
        return self.tiles[key].detail.text()

    def clear(self) -> None:
        for tile in self.tiles.values():
            tile.value.setText("–")
            tile.detail.setText("")
        self.tiles["exit"].set_colours(NEUTRAL, "#ffffff")

    def show(self, readouts: Readouts) -> None:
        """Fill the tiles with one frame's texts (core.runtime.video.live_readout.frame_readouts)."""
        for key, tile in self.tiles.items():
            tile.value.setText(readouts.values[key])
            tile.detail.setText(readouts.details[key])
        tile = self.tiles["exit"]
        tile.setToolTip(readouts.exit_tooltip)
        colour = readouts.exit_colour
        tile.set_colours("#%02x%02x%02x" % colour, "#%02x%02x%02x" % text_colour(colour))

"""A video frame view: paints the newest QImage centred, keeping its aspect, on a dark background.

The pictures come already drawn at this view's size (the Live worker fits them to
``box()``), so painting is a plain copy; a picture of another size (the view was just
resized) is scaled with the fast transformation until the next one arrives.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QResizeEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

BACKGROUND = QColor(18, 18, 22)


class FrameView(QWidget):
    """Shows one QImage at a time; ``resized`` gives the new drawing box in device pixels."""

    resized = Signal(int, int)

    def __init__(self, hint: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hint = hint
        self._image: QImage | None = None
        self.frames_shown = 0
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 200)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def sizeHint(self) -> QSize:
        return QSize(960, 600)

    def image(self) -> QImage | None:
        return self._image

    def set_image(self, image: QImage | None) -> None:
        """Show ``image`` (None: back to the hint)."""
        self._image = image
        if image is not None:
            self.frames_shown += 1
        self.update()

    def set_hint(self, hint: str) -> None:
        self.hint = hint
        if self._image is None:
            self.update()

    def box(self) -> tuple[int, int]:
        """The drawing area (width, height) in device pixels."""
        ratio = self.devicePixelRatioF()
        return max(1, int(self.width() * ratio)), max(1, int(self.height() * ratio))

    def image_rect(self) -> QRect:
        """Where the image is painted, in widget coordinates (empty without one)."""
        if self._image is None or self._image.isNull():
            return QRect()
        ratio = self.devicePixelRatioF()
        size = QSize(round(self._image.width() / ratio), round(self._image.height() / ratio))
        size = size.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio) if (
            size.width() > self.width() or size.height() > self.height()
            or (size.width() < self.width() and size.height() < self.height())) else size
        return QRect((self.width() - size.width()) // 2, (self.height() - size.height()) // 2,
                     size.width(), size.height())

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        if self._image is not None and not self._image.isNull():
            painter.drawImage(self.image_rect(), self._image)
        elif self.hint:
            font = QFont(self.font())
            font.setPointSizeF(font.pointSizeF() * 1.5)
            painter.setFont(font)
            painter.setPen(QColor(190, 190, 200))
            painter.drawText(self.rect().adjusted(20, 20, -20, -20),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.hint)
        painter.end()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.resized.emit(*self.box())

"""A video frame view: paints the newest QImage centred, keeping its aspect, on a dark background.

The pictures come already drawn at this view's size (the Live worker fits them to
``box()``), so painting is a plain copy; a picture of another size (the view was just
resized) is scaled with the fast transformation until the next one arrives. Over the picture
it can show a ``notice`` (a lasting line at the bottom, such as a hint) and ``flash`` a short
text at the top for a moment (a threshold changed by a key).
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QResizeEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

BACKGROUND = QColor(18, 18, 22)
BANNER = QColor(0, 0, 0, 185)
FLASH_MS = 2500


class FrameView(QWidget):
    """Shows one QImage at a time; ``resized`` gives the new drawing box in device pixels."""

    resized = Signal(int, int)

    def __init__(self, hint: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hint = hint
        self._image: QImage | None = None
        self.frames_shown = 0
        self.notice = ""
        self.flash_text = ""
        self._flash_timer = QTimer(self)
        self._flash_timer.setSingleShot(True)
        self._flash_timer.timeout.connect(lambda: self.flash(""))
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

    def clear(self, hint: str) -> None:
        """No picture: ``hint`` instead (the previous source's frame does not stay on screen)."""
        self.hint = hint
        self.set_image(None)

    def set_notice(self, text: str) -> None:
        """A lasting line over the bottom of the picture ('' removes it)."""
        if text != self.notice:
            self.notice = text
            self.update()

    def flash(self, text: str, ms: int = FLASH_MS) -> None:
        """``text`` over the top of the picture for ``ms`` milliseconds ('' removes it now)."""
        self.flash_text = text
        if text:
            self._flash_timer.start(ms)
        else:
            self._flash_timer.stop()
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
        if self.flash_text:
            self._banner(painter, self.flash_text, top=True, scale=1.6)
        if self.notice:
            self._banner(painter, self.notice, top=False, scale=1.1)
        painter.end()

    def _banner(self, painter: QPainter, text: str, top: bool, scale: float) -> None:
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * scale)
        font.setBold(top)
        painter.setFont(font)
        width = self.width() - 40
        flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
        bounds = painter.boundingRect(QRect(0, 0, width, self.height()), flags, text)
        height = bounds.height() + 16
        area = QRect(10, 10 if top else self.height() - height - 10, self.width() - 20, height)
        painter.fillRect(area, BANNER)
        painter.setPen(QColor(255, 236, 120) if not top else QColor(255, 255, 255))
        painter.drawText(area.adjusted(10, 8, -10, -8), flags, text)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.resized.emit(*self.box())

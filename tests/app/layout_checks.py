"""Layout checks for the pages' tests: widgets an ancestor cuts off."""

from __future__ import annotations


def clipped_widgets(root, across_only: bool = False) -> list[str]:
    """The visible widgets under ``root`` that an ancestor cuts off (drawn only in part); ``across_only``:
    only those cut at the left or right (in a scroll area, rows scrolled out of sight are cut vertically)."""
    from PySide6.QtCore import QPoint, QRect
    from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit, QSlider, QWidget

    kinds = (QAbstractButton, QComboBox, QLineEdit, QAbstractSpinBox, QSlider)
    cut = []
    window = root.window()
    for widget in root.findChildren(QWidget):
        if not isinstance(widget, kinds) or not widget.isVisible() or isinstance(widget.parentWidget(), kinds):
            continue      # a spin box's or an editable combo box's own line edit: inside its box
        rect = QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())
        shown, parent = rect, widget.parentWidget()
        while parent is not None and parent is not window:
            shown = shown.intersected(QRect(parent.mapTo(window, QPoint(0, 0)), parent.size()))
            parent = parent.parentWidget()
        if across_only and shown.isEmpty():
            continue      # scrolled out of sight
        cut_off = (shown.left(), shown.right()) != (rect.left(), rect.right()) if across_only else shown != rect
        if cut_off:
            cut.append(f"{type(widget).__name__} {widget.objectName() or getattr(widget, 'text', lambda: '')()!r}: "
                       f"{shown.width()}x{shown.height()} of {rect.width()}x{rect.height()} shown")
    return cut

"""Presentation mode's window side: full screen with the window's menu, status and tab bars hidden.

``WindowChrome.enter(window)`` hides what is visible of them and goes full screen; ``leave()`` brings
them back. ``on_left_full_screen`` hooks a window's full-screen action (F11), so that leaving full
screen another way leaves presentation mode too.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtWidgets import QMainWindow, QWidget


class WindowChrome:
    """What presentation mode hides of a window, and its full screen."""

    def __init__(self) -> None:
        self.hidden: list[QWidget] = []
        self._hooked = False

    def enter(self, window: QWidget) -> None:
        chrome = []
        if isinstance(window, QMainWindow):
            chrome = [window.menuBar(), window.statusBar()]
            tabs = getattr(window, "tabs", None)
            if tabs is not None:
                chrome.append(tabs.tabBar())
        self.hidden = [w for w in chrome if w is not None and w.isVisible()]
        for widget in self.hidden:
            widget.setVisible(False)
        self._full_screen(window, True)

    def leave(self, window: QWidget) -> None:
        for widget in self.hidden:
            widget.setVisible(True)
        self.hidden = []
        self._full_screen(window, False)

    @staticmethod
    def _full_screen(window: QWidget, on: bool) -> None:
        if hasattr(window, "set_full_screen"):
            window.set_full_screen(on)
        elif on:
            window.showFullScreen()
        else:
            window.showNormal()

    def on_left_full_screen(self, window: QWidget, leave: Callable[[], None]) -> None:
        """Call ``leave`` when the window's full-screen action (F11) turns full screen off (hooked once)."""
        action = getattr(window, "fullscreen_action", None)
        if self._hooked or action is None:
            return
        action.toggled.connect(lambda full: None if full else leave())
        self._hooked = True

"""The pages of the main window, in one registry (model, train, search, live, inspect)."""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Callable

from PySide6.QtWidgets import QWidget

from core.registry import Registry


class Page(QWidget):
    """A page: built from the shared state and settings; stops its workers on shutdown."""

    title = "page"

    def __init__(self, state, settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.settings = settings

    def save_settings(self) -> None:
        """Write what should persist between runs."""

    def shutdown(self) -> None:
        """Stop this page's workers; called before the window closes."""


@dataclass(frozen=True)
class PageEntry:
    name: str
    title: str
    shortcut: str
    factory: Callable[..., Page]


PAGES: Registry[PageEntry] = Registry("page")
PAGE_MODULES = ("model_page", "train_page", "search_page", "live_page", "inspect_page")


def load_pages() -> Registry[PageEntry]:
    """Import the page modules (each registers itself) and return the registry, in page order.

    tests/app/test_main_window.py checks that all five are there."""
    for module in PAGE_MODULES:
        if importlib.util.find_spec(f"app.pages.{module}") is not None:
            importlib.import_module(f"app.pages.{module}")
    # in PAGE_MODULES order, whatever order the modules were first imported in (tests import them directly)
    rank = {f"app.pages.{module}": i for i, module in enumerate(PAGE_MODULES)}
    ordered: Registry[PageEntry] = Registry("page")
    for name in sorted(PAGES, key=lambda n: rank.get(PAGES.get(n).factory.__module__, len(rank))):
        ordered.add(name, PAGES.get(name))
    return ordered

"""Loading an exit configuration file from the GUI (File > Load configuration, the Search page's button)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtWidgets import QFileDialog, QWidget

from core.errors import MessError

CONFIG_DIR_KEY = "search/save_dir"     # where configurations were last saved or loaded
CONFIG_FILTER = "Exit configurations (*.json);;All files (*)"
Show = Callable[[str, bool], None]     # (one line, is it an error)


def ask_config_path(parent: QWidget, settings, state) -> str | None:
    """The configuration file the user picks (None when cancelled); its folder is remembered."""
    start = settings.get(CONFIG_DIR_KEY, str(state.folder or ""))
    path, _ = QFileDialog.getOpenFileName(parent, "Load an exit configuration", start, CONFIG_FILTER)
    if not path:
        return None
    settings.set(CONFIG_DIR_KEY, str(Path(path).parent))
    return path


def apply_config_file(state, path: str | Path, show: Show) -> bool:
    """AppState.load_config, its result or its refusal shown in one line; True when applied."""
    try:
        message = state.load_config(path)
    except MessError as exc:
        show(str(exc), True)
        return False
    show(message, False)
    return True


def choose_and_apply_config(parent: QWidget, settings, state, show: Show) -> bool:
    """Ask for a configuration file, then apply it (False when cancelled or refused)."""
    path = ask_config_path(parent, settings, state)
    return path is not None and apply_config_file(state, path, show)

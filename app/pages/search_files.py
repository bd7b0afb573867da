"""The Search page's configuration files: an exit configuration loaded into the Live page, the chosen
configuration saved (what `mess search --out` writes) and the Pareto front saved (`mess search --pareto`).
A mixin of app.pages.search_page.SearchPage, which holds ``outcome``, ``chosen``, ``budget()``,
``report_for()``, ``show_message()`` and every page's ``state`` and ``settings``; the writing itself is
core.search.session's."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtWidgets import QFileDialog

from app.widgets.config_dialog import CONFIG_DIR_KEY, apply_config_file, choose_and_apply_config
from core.errors import MessError
from core.search.session import pareto_document, save_config


class SearchFiles:
    """Load a configuration; save the chosen one or the front, through a file dialog or to a given path."""

    def choose_config_to_load(self) -> None:
        choose_and_apply_config(self, self.settings, self.state, show=self.show_message)

    def load_config(self, path: str | Path) -> bool:
        """Apply a configuration file to the Live page (AppState.load_config); one line on failure."""
        return apply_config_file(self.state, path, self.show_message)

    def _choose_path_to_save(self, caption: str, name: str, filters: str) -> str:
        start = self.settings.get(CONFIG_DIR_KEY, str(self.state.folder or ""))
        path, _ = QFileDialog.getSaveFileName(self, caption, str(Path(start) / name), filters)
        return path

    def choose_save_path(self) -> None:
        if self.chosen is None:
            return
        path = self._choose_path_to_save("Save the exit configuration", "config.json",
                                         "Exit configurations (*.json);;All files (*)")
        if path:
            self.settings.set(CONFIG_DIR_KEY, str(Path(path).parent))
            self.save_config(path)

    def save_config(self, path: str | Path) -> bool:
        """Write what `mess search --out` writes for the chosen configuration."""
        if self.outcome is None or self.chosen is None or self.state.info is None:
            return False
        o = self.outcome
        return self._write(path, lambda: save_config(path, o.result, self.chosen, table=o.table, images=o.images,
                                                     reference=o.reference, held_out=self.report_for(self.chosen),
                                                     origin=self.state.config_origin()))

    def choose_front_path(self) -> None:
        if self.outcome is None:
            return
        path = self._choose_path_to_save("Save the Pareto front", "pareto.json", "JSON (*.json);;All files (*)")
        if path:
            self.save_front(path)

    def save_front(self, path: str | Path) -> bool:
        """Write what `mess search --pareto` writes, for the plot's cost axis."""
        from core.jsonio import write_json_atomic

        if self.outcome is None:
            return False
        o = self.outcome
        document = pareto_document(o.result, self.budget().axis, o.images, reference=o.reference)
        return self._write(path, lambda: write_json_atomic(Path(path), document))

    def _write(self, path: str | Path, write: Callable[[], object]) -> bool:
        """Run ``write``; "Saved PATH", or one line naming the file when it cannot be written."""
        try:
            write()
        except MessError as exc:      # core.fileio.WriteError: one line naming the file
            self.show_message(str(exc), error=True)
            return False
        except OSError as exc:
            self.show_message(f"{path}: cannot write ({exc.strerror or exc})", error=True)
            return False
        self.show_message(f"Saved {path}")
        return True

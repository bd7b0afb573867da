"""The state the pages share: the open model and the chosen exit configuration.

Loading a model runs torch, so it happens on a worker; pages listen to the signals.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.workers import JobWorker, start_job
from core.runtime.config import ExitConfig


def _load(folder: Path, device: str):
    from core.device import select_device
    from core.models import load_model

    return load_model(folder, select_device(device), inference=True)


class AppState(QObject):
    """One per window: which model is open, and which exit configuration the Live page runs."""

    model_loading = Signal(str)        # folder
    model_changed = Signal()           # folder, net and info are set
    model_failed = Signal(str)         # one-line message
    config_changed = Signal(object)    # ExitConfig, or None for the full network
    backend_changed = Signal(str, str)  # backend, precision: what measures and runs the network now
    inspect_requested = Signal(object, str)  # an RGB frame and its name: the Inspect page shows it

    def __init__(self, device: str = "auto", parent: QObject | None = None, backend: str | None = None,
                 precision: str = "fp32") -> None:
        super().__init__(parent)
        self.device = device
        self._backend = backend
        self.precision = precision
        self.folder: Path | None = None
        self.net = None
        self.info = None
        self.config: ExitConfig | None = None
        self.config_restored = False              # the configuration is the one remembered from last time
        self._loader: JobWorker | None = None     # the newest load
        self._loaders: list[JobWorker] = []        # every load started (waited for on shutdown)
        self._request = 0

    @property
    def loading(self) -> bool:
        return self._loader is not None and self._loader.is_running()

    def open_model(self, folder: str | Path) -> None:
        """Load a model folder on a worker; model_changed or model_failed follows. Only the newest
        request counts: a load that a later open_model superseded is dropped when it ends."""
        folder = Path(folder)
        self._request += 1
        request = self._request
        self.model_loading.emit(str(folder))
        self._loaders.append(start_job(lambda token: _load(folder, self.device), "load-model", self,
                                       succeeded=lambda result: self._loaded(folder, result, request),
                                       failed=lambda text: self._failed(text, request)))
        self._loader = self._loaders[-1]

    def _failed(self, text: str, request: int) -> None:
        if request == self._request:
            self.model_failed.emit(text)

    def _loaded(self, folder: Path, result, request: int) -> None:
        if request != self._request:          # superseded by a newer open_model
            return
        self.net, self.info = result
        self.folder = folder
        if self.config is not None and any(e not in self.net.exit_ids() for e in self.config.exits):
            self.config = None
            self.config_changed.emit(None)
        self.model_changed.emit()

    @property
    def backend(self) -> str:
        """The execution backend the pages measure and run with (the default one unless chosen;
        torch for a model on a GPU)."""
        from core.runtime.backends import default_backend

        if self.net is not None and next(self.net.parameters()).device.type != "cpu":
            return "torch"
        return self._backend or default_backend()

    def set_backend(self, backend: str | None, precision: str = "fp32") -> None:
        """Choose the backend (None: the default) and precision; checked here, so a bad one raises."""
        from core.runtime.backends import BackendOptions, default_backend, get_backend

        effective = backend or ("torch" if self.net is not None and next(self.net.parameters()).device.type != "cpu"
                                else default_backend())
        get_backend(effective).check_precision(BackendOptions(precision).precision)
        if (backend, precision) != (self._backend, self.precision):
            self._backend, self.precision = backend, precision
            self.backend_changed.emit(self.backend, self.precision)

    def rebuild_backend(self) -> None:
        """The same backend and precision on new graphs (a new int8 calibration replaced them): the pages
        measure and run on pieces built again."""
        self.backend_changed.emit(self.backend, self.precision)

    def set_config(self, config: ExitConfig | None, *, restored: bool = False) -> None:
        """Apply ``config`` (None: the full network); ``restored``: the one remembered from last time (the Live
        page then keeps its own deadline setting, saved later than the configuration was)."""
        self.config, self.config_restored = config, bool(restored)
        self.config_changed.emit(config)

    def load_config(self, path: str | Path) -> str:
        """Read a configuration file (`mess search --out`, the Search page's Save), check it against the
        open model (its exits; the weights' SHA-256 it records) and apply it: the Live page runs it.
        A ConfigError (one line naming the file) leaves the applied configuration as it was; the
        returned line says what was applied (and, for an older file, that the weights were not checked)."""
        from core.errors import ConfigError
        from core.runtime.config_file import ConfigFile

        if self.net is None or self.info is None:
            raise ConfigError(f"{path}: open a model before loading a configuration for it")
        loaded = ConfigFile.load(path)
        note = loaded.check(self.info.weights_sha256, self.net.exit_ids())
        self.set_config(loaded.config)
        applied = f"Applied {Path(path).name}: {' › '.join(loaded.config.exits)} ({loaded.config.mode})"
        return f"{applied}; note: {note}" if note else applied

    def config_origin(self):
        """The open model as a configuration file records it (core.runtime.config_file.ConfigOrigin)."""
        from core.runtime.config_file import ConfigOrigin

        return ConfigOrigin(str(self.folder), self.info.weights_sha256) if self.info is not None else None

    def wait(self, ms: int = 30_000) -> bool:
        return all(loader.wait(ms) for loader in self._loaders)

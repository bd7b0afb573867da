"""The main window: the pages as tabs, a model menu, full screen, and a remembered layout."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QMessageBox, QTabWidget

from app.int8_calibration import Int8Calibrator
from app.pages import Page, load_pages
from app.settings import Settings
from app.state import AppState
from app.threads_menu import ThreadsMenu
from app.widgets.config_dialog import apply_config_file, choose_and_apply_config
from core.errors import MessError
from core.runtime.config_file import ConfigFile, remembered_config

CONFIG_KEY = "live/config"    # the applied exit configuration and the weights it is for (ConfigFile JSON)


class MainWindow(QMainWindow):
    """Tabs for the pages; the shared AppState; settings saved on close."""

    def __init__(self, settings: Settings, state: AppState | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.state = state or AppState(parent=self)
        self.setWindowTitle("MESS Studio")
        self.resize(1280, 800)
        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)
        self.setCentralWidget(self.tabs)
        self.pages: dict[str, Page] = {}
        registry = load_pages()
        for name in registry:
            entry = registry.get(name)
            page = entry.factory(self.state, self.settings, self)
            page.setObjectName(f"page-{name}")
            self.pages[name] = page
            self.tabs.addTab(page, entry.title)
        self._model_label = QLabel("no model")
        self._backend_label = QLabel("")
        self._backend_label.setObjectName("backend-label")
        self._backend_label.setToolTip("The execution backend (Runtime menu)")
        self.statusBar().addPermanentWidget(self._backend_label)
        self.statusBar().addPermanentWidget(self._model_label)
        self._build_menus(registry)
        self.state.model_loading.connect(lambda folder: self._model_label.setText(f"loading {Path(folder).name}..."))
        self.state.model_changed.connect(self._on_model_changed)
        self.state.model_failed.connect(self._on_model_failed)
        self.state.config_changed.connect(self._remember_config)
        if "inspect" in self.pages:
            self.state.inspect_requested.connect(lambda *_: self.show_page("inspect"))
        if self.state.net is not None:
            self._on_model_changed()
        self._restore_layout()
        for problem in self.settings.problems:   # bad stored values, replaced by defaults
            print(f"MESS Studio: {problem}", flush=True)
        if self.settings.problems:
            self.statusBar().showMessage(f"{len(self.settings.problems)} setting(s) were out of range and were reset: "
                                         + self.settings.problems[0], 15000)

    # --- menus and shortcuts ------------------------------------------------------------
    def _build_menus(self, registry) -> None:
        file_menu = self.menuBar().addMenu("&File")
        open_action = QAction("&Open model folder...", self, shortcut=QKeySequence.StandardKey.Open)
        open_action.triggered.connect(self.choose_model)
        file_menu.addAction(open_action)
        self.load_config_action = QAction("&Load configuration...", self, shortcut=QKeySequence("Ctrl+Shift+L"))
        self.load_config_action.setObjectName("load-config")
        self.load_config_action.setToolTip("Read an exit configuration JSON ('mess search --out', the Search page's "
                                           "Save) and run it on the Live page, as 'mess run --config' does")
        self.load_config_action.triggered.connect(self.choose_config)
        file_menu.addAction(self.load_config_action)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self, shortcut=QKeySequence("Ctrl+Q"))
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        view_menu = self.menuBar().addMenu("&View")
        for index, name in enumerate(registry):
            entry = registry.get(name)
            action = QAction(entry.title, self, shortcut=QKeySequence(entry.shortcut))
            action.triggered.connect(lambda _=False, i=index: self.tabs.setCurrentIndex(i))
            view_menu.addAction(action)
        view_menu.addSeparator()
        self.fullscreen_action = QAction("&Full screen", self, shortcut=QKeySequence("F11"), checkable=True)
        self.fullscreen_action.toggled.connect(self.set_full_screen)
        view_menu.addAction(self.fullscreen_action)
        self._build_runtime_menu()
        help_menu = self.menuBar().addMenu("&Help")
        keys_action = QAction("&Keyboard shortcuts", self, shortcut=QKeySequence("F1"))
        keys_action.triggered.connect(self.show_shortcuts)
        help_menu.addAction(keys_action)
        about_action = QAction("&About MESS Studio", self)
        about_action.triggered.connect(self.show_about)
        help_menu.addAction(about_action)

    def _build_runtime_menu(self) -> None:
        """Runtime: which execution backend measures and runs the network (persisted)."""
        from PySide6.QtGui import QActionGroup

        from core.runtime.backends import BACKENDS

        menu = self.menuBar().addMenu("&Runtime")
        group = QActionGroup(self)
        self.backend_actions: dict[str, QAction] = {}
        for name in BACKENDS:
            reason = BACKENDS.get(name).unavailable_reason()
            action = QAction(name, self, checkable=True)
            action.setEnabled(reason is None)
            action.setToolTip(reason or BACKENDS.get(name).__doc__.splitlines()[0])
            action.setObjectName(f"backend-{name}")
            action.triggered.connect(lambda _=False, n=name: self.choose_backend(n, self._precision_for(n)))
            group.addAction(action)
            menu.addAction(action)
            self.backend_actions[name] = action
        menu.addSeparator()
        self.bf16_action = QAction("bfloat16 (OpenVINO, where the CPU has it)", self, checkable=True)
        self.bf16_action.setObjectName("backend-bf16")
        self.bf16_action.toggled.connect(lambda on: self.choose_backend("openvino" if on else self.state.backend,
                                                                        "bf16" if on else "fp32"))
        menu.addAction(self.bf16_action)
        self.int8_action = QAction("int8 (OpenVINO or ONNX Runtime, once calibrated)", self, checkable=True)
        self.int8_action.setObjectName("backend-int8")
        self.int8_action.setToolTip("int8 graphs calibrated for this model and size by Calibrate int8... "
                                    "('mess quantize --images DIR')")
        self.int8_action.toggled.connect(lambda on: self.choose_backend(
            self._int8_backend() if on else self.state.backend, "int8" if on else "fp32"))
        menu.addAction(self.int8_action)
        self.int8_calibrator = Int8Calibrator(self.state, self.settings, self, show=self._show_status,
                                              use_int8=lambda: self.choose_backend(self._int8_backend(), "int8"))
        menu.addAction(self.int8_calibrator.action)
        menu.addSeparator()
        self.threads_menu = ThreadsMenu(self.settings, menu)
        menu.addMenu(self.threads_menu)
        self.state.backend_changed.connect(lambda *_: self._show_backend())
        self._show_backend()

    def _int8_backend(self) -> str:
        """The current backend if it runs int8, else openvino (else onnxruntime where openvino is missing)."""
        from core.runtime.backends import BACKENDS, available_backends

        if "int8" in BACKENDS.get(self.state.backend).precisions:
            return self.state.backend
        return "openvino" if "openvino" in available_backends() else "onnxruntime"

    def _precision_for(self, backend: str) -> str:
        """The current precision if ``backend`` runs it, else fp32 (torch runs fp32 only, onnxruntime fp32 or int8)."""
        from core.runtime.backends import BACKENDS

        precision = self.state.precision
        return precision if precision in BACKENDS.get(backend).precisions else "fp32"

    def choose_backend(self, backend: str, precision: str) -> None:
        try:
            self.state.set_backend(backend, precision)
        except MessError as exc:
            self.statusBar().showMessage(str(exc), 8000)
            self._show_backend()
            return
        self.settings.set("runtime/backend", backend)
        self.settings.set("runtime/precision", precision)

    def _show_backend(self) -> None:
        backend, precision = self.state.backend, self.state.precision
        for name, action in self.backend_actions.items():
            action.setChecked(name == backend)
        for action, name in ((self.bf16_action, "bf16"), (self.int8_action, "int8")):
            action.blockSignals(True)
            action.setChecked(precision == name)
            action.blockSignals(False)
        self._backend_label.setText(f"{backend} {precision}")

    SHORTCUTS = (("Ctrl+1..5", "Model, Train, Search, Live, Inspect page"), ("Ctrl+O", "open a model folder"),
                 ("Ctrl+Shift+L", "load an exit configuration (runs on Live)"),
                 ("Ctrl+Shift+I", "Runtime: calibrate int8 (again: cancel)"),
                 ("F11", "full screen"), ("F1", "this list"), ("Ctrl+M", "Model: measure (again)"),
                 ("Ctrl+L", "Model: load a latency table"), ("Ctrl+Return", "Live: start / stop"),
                 ("Space", "Live: pause"), (".", "Live: one step"), ("F", "Live: full network"),
                 ("B", "Live: side by side"), ("A", "Live: anytime"), ("D", "Live: deadline on / off"),
                 ("Ctrl+R", "Live: record"), ("F5", "Live: presentation mode"),
                 ("I", "Live: inspect this frame"), ("Ctrl+Shift+O", "Inspect: open an image or video"),
                 ("Ctrl+S", "Inspect: save the grid"), ("Esc", "leave full screen or presentation mode"),
                 ("Ctrl+Q", "quit"))

    def shortcuts_text(self) -> str:
        return "\n".join(f"{keys:<12} {what}" for keys, what in self.SHORTCUTS)

    def show_shortcuts(self) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, "Keyboard shortcuts", self.shortcuts_text(),
                          QMessageBox.StandardButton.Ok, self)
        box.setObjectName("shortcuts")
        box.open()

    def about_text(self) -> str:
        from importlib import metadata

        try:
            version = metadata.version("mess-studio")
        except metadata.PackageNotFoundError:
            version = "(source tree)"
        return (f"MESS Studio {version}: multi-exit semantic segmentation.\n"
                f"Runtime: {self.state.backend} {self.state.precision}. Settings: {self.settings.path}\n"
                "The same engine is the 'mess' command: 'mess --help'.")

    def show_about(self) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, "About MESS Studio", self.about_text(),
                          QMessageBox.StandardButton.Ok, self)
        box.setObjectName("about")
        box.open()

    def set_full_screen(self, on: bool) -> None:
        if on and not self.isFullScreen():
            self.showFullScreen()
        elif not on and self.isFullScreen():
            self.showNormal()
        if self.fullscreen_action.isChecked() != on:
            self.fullscreen_action.setChecked(on)

    def show_page(self, name: str) -> None:
        self.tabs.setCurrentWidget(self.pages[name])

    def choose_model(self) -> None:
        start = str(self.state.folder or "")
        folder = QFileDialog.getExistingDirectory(self, "Open a model folder (model.json + weights.safetensors)", start)
        if folder:
            self.state.open_model(folder)

    # --- exit configuration -----------------------------------------------------------------
    def choose_config(self) -> None:
        choose_and_apply_config(self, self.settings, self.state, show=self._show_status)

    def load_config(self, path: str | Path) -> bool:
        """Apply a configuration file (AppState.load_config); a refusal is one line in the status bar."""
        return apply_config_file(self.state, path, self._show_status)

    def _show_status(self, text: str, error: bool | None = False) -> None:
        """A line in the status bar for 10 s (an error 20 s; ``error`` None: progress, until the next line)."""
        self.statusBar().showMessage(text, 0 if error is None else 20000 if error else 10000)

    def _remember_config(self, config) -> None:
        """The applied configuration, with the weights it is for, persists (restored by _restore_config)."""
        origin = self.state.config_origin()
        if config is None or origin is None:
            self.settings.remove(CONFIG_KEY)
        else:
            self.settings.set(CONFIG_KEY, json.dumps(ConfigFile("", config, origin).to_json()))

    def _restore_config(self) -> None:
        """Apply the configuration remembered for the open model's weights (none is applied yet)."""
        text = self.settings.get(CONFIG_KEY, "")
        if not text or self.state.config is not None or self.state.net is None:
            return
        try:
            config = remembered_config(text, f"{self.settings.path} [{CONFIG_KEY}]", self.state.info.weights_sha256,
                                       exit_ids=self.state.net.exit_ids())
        except MessError as exc:
            self.settings.remove(CONFIG_KEY)
            print(f"MESS Studio: {exc}; forgotten", flush=True)
            return
        if config is not None:
            self.state.set_config(config, restored=True)
            self.statusBar().showMessage(f"Restored the configuration applied last time: {' › '.join(config.exits)}",
                                         10000)

    # --- model ------------------------------------------------------------------------
    def _on_model_changed_label(self) -> None:
        folder = self.state.folder
        self._model_label.setText(f"{folder.name}  ·  {self.state.net.spec.backbone}  ·  "
                                  f"{len(self.state.net.exit_ids())} exits")

    def _on_model_changed(self) -> None:
        folder = self.state.folder
        self._on_model_changed_label()
        self.settings.set("model", str(folder))
        self.statusBar().showMessage(f"opened {folder}", 5000)
        self._restore_config()

    def _on_model_failed(self, message: str) -> None:
        if self.state.net is None:
            self._model_label.setText("no model")
        else:   # the model that stays open, not "loading ..." forever
            self._on_model_changed_label()
        self.statusBar().showMessage(message)
        box = QMessageBox(QMessageBox.Icon.Warning, "Cannot open the model", message, QMessageBox.StandardButton.Ok,
                          self)
        box.setObjectName("model-error")
        box.open()  # not modal-blocking: the app (and a test) keeps running

    # --- layout -----------------------------------------------------------------------
    def _restore_layout(self) -> None:
        geometry = self.settings.get_bytes("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self.settings.get_bytes("window/state")
        if state is not None:
            self.restoreState(state)
        page = self.settings.get("window/page", "")
        if page in self.pages:
            self.show_page(page)

    def save_settings(self) -> None:
        self.settings.set("window/geometry", self.saveGeometry())
        self.settings.set("window/state", self.saveState())
        current = self.tabs.currentWidget()
        self.settings.set("window/page", next((n for n, p in self.pages.items() if p is current), ""))
        if self.state.folder is not None:
            self.settings.set("model", str(self.state.folder))
        for page in self.pages.values():
            page.save_settings()
        self.settings.sync()

    def closeEvent(self, event) -> None:
        self.save_settings()
        for page in self.pages.values():
            page.shutdown()
        self.int8_calibrator.shutdown()
        self.state.wait()
        super().closeEvent(event)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape and self.isFullScreen():
            self.set_full_screen(False)
            return
        super().keyPressEvent(event)

"""Start MESS Studio: `mess gui` or `mess-studio` (or `python -m app`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.threads import set_wait_policy

set_wait_policy()  # before torch is imported

from core.device import DEVICE_CHOICES  # noqa: E402

PAGE_NAMES = ("model", "train", "search", "live", "inspect")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mess-studio", description="MESS Studio: the desktop application.")
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="model folder to open (default: the last one, else the bundled model)")
    parser.add_argument("--page", choices=PAGE_NAMES, help="page to show first")
    parser.add_argument("--device", default="auto", choices=DEVICE_CHOICES, help="where models run (default auto)")
    parser.add_argument("--settings", help="INI file for the settings (default: the user's settings)")
    parser.add_argument("--backend", help="execution backend: torch, onnxruntime or openvino (default: the last "
                                          "one chosen in the Runtime menu, else the fastest installed)")
    parser.add_argument("--precision", choices=("fp32", "bf16", "int8"),
                        help="backend precision (default: the last one, else fp32)")
    parser.add_argument("--threads", type=int, metavar="N",
                        help="threads the network's work uses in all, 0 for every core (default: the last one "
                             "chosen in Runtime > Threads, else every core); a training job beside the live "
                             "view splits them")
    parser.add_argument("--quit-after", type=int, metavar="MS",
                        help="close the window this many ms after it is shown (smoke tests)")


def startup_model(requested: str | None, remembered: str | None) -> Path | None:
    """The model folder to open first: --model, else the last one opened, else the bundled model."""
    from core.cli.common import BUNDLED_MODEL

    if requested:
        return Path(requested)
    if remembered and (Path(remembered) / "model.json").is_file():
        return Path(remembered)
    return BUNDLED_MODEL if (BUNDLED_MODEL / "model.json").is_file() else None


def choose_backend(state, settings, backend: str | None, precision: str | None) -> None:
    """--backend/--precision, else the remembered ones; a remembered one that no longer runs here is dropped."""
    from core.errors import MessError

    remembered = settings.get("runtime/backend", "") or None
    try:
        state.set_backend(backend or remembered, precision or settings.get("runtime/precision", "fp32"))
    except MessError as exc:
        if backend or precision:
            raise SystemExit(f"mess gui: error: {exc}") from None
        print(f"MESS Studio: the remembered backend cannot run here ({exc}); using the default", flush=True)
        settings.remove("runtime/backend")
        settings.remove("runtime/precision")


def choose_threads(settings, threads: int | None) -> None:
    """--threads, else the remembered setting: the app's limit on threads (core.threads.CORES)."""
    from app.threads_menu import apply_threads, remembered_threads

    if threads is not None and threads < 0:
        raise SystemExit(f"mess gui: error: --threads must be 0 (every core) or more, got {threads}")
    apply_threads(settings, remembered_threads(settings) if threads is None else threads)


def run_app(args: argparse.Namespace) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow
    from app.settings import APPLICATION, ORGANISATION, Settings
    from app.state import AppState

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    settings = Settings(args.settings)
    state = AppState(device=args.device)
    choose_backend(state, settings, args.backend, precision=args.precision)
    choose_threads(settings, args.threads)
    window = MainWindow(settings, state)
    if args.page:
        window.show_page(args.page)
    window.show()
    print(f"MESS Studio: main window shown ({app.platformName()})", flush=True)
    state.model_changed.connect(lambda: print(f"MESS Studio: model opened {state.folder}", flush=True))
    state.model_failed.connect(lambda message: print(f"MESS Studio: cannot open the model: {message}", flush=True))
    model = startup_model(args.model, settings.get("model"))
    if model is not None:
        state.open_model(model)
    if args.quit_after is not None:
        QTimer.singleShot(args.quit_after, window.close)
    return app.exec()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_app(args)


if __name__ == "__main__":
    sys.exit(main())

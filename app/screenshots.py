"""Screenshots of MESS Studio for the README: the real app, driven offscreen, one PNG per page.

    QT_QPA_PLATFORM=offscreen python -m app.screenshots --out assets/screenshots \\
        --data ../shared/data/camvid --video ../shared/data/videos/highway.mp4 --run RUN_FOLDER [--size 1280x800]

It opens app.main_window.MainWindow (settings in a temporary INI file, models on the CPU) on a
copy of the bundled model (a search writes its calibration cache into the model folder: never
into assets/), then saves, each with window.grab():

  model.png              the Model page once its FLOPs / latency measurement has finished, with the
                         exits of the searched configuration marked
  train.png              the Train page showing the run in --run (skipped without --run)
  search.png             the Search page after a search on --data (20 images; with --label-free, 20 frames of
                         --video, scored against the final exit), with a latency budget
                         (between the cheapest configuration and the full network) that selects a
                         configuration with early exits, marked on the plot, and its speed-up
                         measured (Measure speed-up: it and the full network interleaved on the frames
                         the calibration left out)
  live.png               the Live page playing --video in real time with that configuration applied
                         ('Apply to Live'), after --play-seconds of playing
  live-side-by-side.png  the same with the full network side by side
  presentation.png       presentation mode (full screen: the offscreen screen is made --size)

Waiting is done with wait_until (a QEventLoop woken by a QTimer), so the UI keeps processing events.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

PAGE_WAIT_S = 600.0            # a model load, a measurement or a search on a slow, busy CPU
FRAME_WAIT_S = 120.0
MODEL_FILES = ("model.json", "weights.safetensors", "MODEL_CARD.md")


class ScreenshotError(Exception):
    """Something the screenshots cannot go on without (one line)."""


# --- arguments -------------------------------------------------------------------------------------
def window_size(text: str) -> tuple[int, int]:
    """'WxH' (the window's width and height in pixels, e.g. 1280x800) -> (W, H)."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a window size WxH such as 1280x800") from None
    if w < 640 or h < 400:
        raise argparse.ArgumentTypeError(f"window size '{text}' is too small (at least 640x400)")
    return w, h


def thresholds(text: str) -> tuple[float, float]:
    """'TH_PIX,TH_IMG' (each 0..1, e.g. 0.85,0.55) -> (th_pix, th_img)."""
    try:
        th_pix, th_img = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not two thresholds TH_PIX,TH_IMG such as 0.85,0.55") from None
    if not (0.0 <= th_pix <= 1.0 and 0.0 <= th_img <= 1.0):
        raise argparse.ArgumentTypeError(f"thresholds '{text}' must be between 0 and 1")
    return th_pix, th_img


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app.screenshots",
                                     description="Save README screenshots of MESS Studio's pages (offscreen).")
    parser.add_argument("--out", required=True, help="folder for the PNGs (created)")
    parser.add_argument("--data", default="../shared/data/camvid",
                        help="labelled dataset for the search (default ../shared/data/camvid)")
    parser.add_argument("--video", default="../shared/data/videos/highway.mp4",
                        help="video file for the Live page (default ../shared/data/videos/highway.mp4)")
    parser.add_argument("--run", help="a training run folder (run.json, metrics.jsonl) for the Train page")
    parser.add_argument("--size", type=window_size, default=(1280, 800), metavar="WxH",
                        help="window size in pixels (default 1280x800)")
    parser.add_argument("--limit", type=int, default=20, help="calibration images for the search (default 20)")
    parser.add_argument("--label-free", action="store_true",
                        help="calibrate the search on --video itself, label-free ('Your footage, label-free'), "
                             "instead of on --data's labelled val split")
    parser.add_argument("--play-seconds", type=float, default=8.0,
                        help="seconds of playing before the Live page is captured (default 8)")
    parser.add_argument("--live-thresholds", type=thresholds, metavar="TH_PIX,TH_IMG",
                        help="move the Live page's threshold sliders to these values before playing (default: "
                             "the searched configuration's own thresholds)")
    parser.add_argument("--no-presentation", action="store_true", help="skip presentation.png")
    parser.add_argument("--opacity", type=int, default=100, metavar="PERCENT",
                        help="overlay opacity of the Live shots (default 100: only the segmentation is shown, not the "
                             "source frames, which may not be redistributable)")
    return parser


def check_inputs(args: argparse.Namespace) -> None:
    from core.cli.common import BUNDLED_MODEL

    for name in MODEL_FILES[:2]:
        if not (BUNDLED_MODEL / name).is_file():
            raise ScreenshotError(f"the bundled model is missing: no {BUNDLED_MODEL / name}")
    if not args.label_free and not Path(args.data).is_dir():
        raise ScreenshotError(f"{args.data}: dataset folder is missing")
    if not Path(args.video).is_file():
        raise ScreenshotError(f"{args.video}: video file is missing")
    if args.run and not (Path(args.run) / "run.json").is_file():
        raise ScreenshotError(f"{args.run}: not a training run folder (no run.json)")


# --- Qt helpers ----------------------------------------------------------------------------------
def use_offscreen_screen(size: tuple[int, int], folder: Path) -> None:
    """Before the QApplication exists: an offscreen screen of ``size``, so full screen is that size.

    The offscreen platform's own screen is 800x800; its configfile option sets the screens."""
    platform = os.environ.get("QT_QPA_PLATFORM", "offscreen")
    if platform != "offscreen":
        return                       # a real display, or offscreen already configured: left as it is
    config = folder / "offscreen-screen.json"
    w, h = size
    config.write_text(json.dumps({"screens": [{"name": "screenshots", "x": 0, "y": 0, "width": w, "height": h,
                                               "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={config}"


def wait_until(predicate: Callable[[], bool], timeout_s: float, step_ms: int = 50) -> bool:
    """Process events until ``predicate()`` is true (True) or ``timeout_s`` has passed (False)."""
    from PySide6.QtCore import QEventLoop, QTimer

    deadline = time.monotonic() + timeout_s
    loop = QEventLoop()
    timer = QTimer()
    timer.setInterval(step_ms)
    timer.timeout.connect(loop.quit)
    timer.start()
    try:
        while True:
            if predicate():
                return True
            if time.monotonic() >= deadline:
                return False
            loop.exec()              # until the timer's next tick, handling every event meanwhile
    finally:
        timer.stop()


def pause(seconds: float) -> None:
    """Let the app run (and paint) for ``seconds``."""
    wait_until(lambda: False, seconds)


def must(predicate: Callable[[], bool], timeout_s: float, what: str, detail: Callable[[], str] = lambda: "") -> None:
    if not wait_until(predicate, timeout_s):
        extra = detail()
        raise ScreenshotError(f"timed out after {timeout_s:g} s waiting for {what}" + (f" ({extra})" if extra else ""))


def save(window, path: Path) -> Path:
    """window.grab() as a PNG; the path is printed."""
    window.statusBar().clearMessage()   # "opened /tmp/...": the temporary model copy's path, for 5 s
    pause(0.3)                       # pending layouts and repaints first
    image = window.grab().toImage()
    if not image.save(str(path), "PNG"):
        raise ScreenshotError(f"{path}: cannot write the PNG")
    print(path, flush=True)
    return path


# --- the pages -----------------------------------------------------------------------------------
def copy_bundled_model(folder: Path) -> Path:
    """The bundled model's files (not its caches) in ``folder``/default, so the app shows 'default'."""
    from core.cli.common import BUNDLED_MODEL

    target = folder / "default"
    target.mkdir(parents=True)
    for name in MODEL_FILES:
        if (BUNDLED_MODEL / name).is_file():
            shutil.copy2(BUNDLED_MODEL / name, target / name)
    return target


def wait_for_costs(window) -> None:
    """The Model page measures FLOPs and latency of every segment and head once it is shown."""
    page = window.pages["model"]
    window.show_page("model")

    def measured() -> bool:
        worker = page._cost_worker
        return page.table is not None and page.diagram.breakdown is not None and \
            (worker is None or not worker.is_running())

    must(measured, PAGE_WAIT_S, "the Model page's measurement", detail=lambda: page.message.text())


def shoot_model(window, out: Path) -> Path:
    """The Model page's diagram, with the exits of the applied configuration marked."""
    page = window.pages["model"]
    wait_for_costs(window)
    page.show_message("")                    # "Opened /tmp/...": the temporary copy's path is no use in a README
    return save(window, out / "model.png")


def shoot_train(window, out: Path, run: str) -> Path:
    from core.train.history import inspect_run

    page = window.pages["train"]
    window.show_page("train")
    info = inspect_run(run)
    page.form.show_config(info.config)       # the run's own settings in the form, as Resume shows them
    page.form.out.set_text(str(Path(run)))   # -> the page shows the run: its curves, log and state
    must(lambda: page.log.blockCount() > 1, 30, "the run's earlier epochs in the Train page's log")
    for field in (page.form.data, page.form.out):
        field.edit.setCursorPosition(0)      # the paths' beginnings, as after typing them
    page.curves.redraw_if_changed()
    pause(0.3)
    bar = page.log.verticalScrollBar()
    bar.setValue(bar.maximum())              # the last epochs, once the layout is done
    return save(window, out / "train.png")


def pick_configuration(result, latency_share: float = 0.7) -> int | None:
    """A configuration of the latency front worth showing: the most accurate one that exits early
    (dynamic, several exits, no exit taking more than 90 % of the images) within ``latency_share``
    of the full network's mean latency; None when the front has none."""
    full_ms = float(result.mean_latency_ms[result.full_index])
    best = None
    for index in result.pareto_front("latency"):
        index = int(index)
        config = result.config(index)
        if config.mode != "dynamic" or len(config.exits) < 2 or max(result.fractions(index).values()) > 0.9:
            continue
        if float(result.mean_latency_ms[index]) <= latency_share * full_ms and \
                (best is None or float(result.miou[index]) > float(result.miou[best])):
            best = index
    return best


def choose_early_exit_budget(page) -> None:
    """Set a latency budget (between the cheapest configuration and the full network) at which the
    page chooses a configuration with early exits."""
    result = page.outcome.result
    cheapest = float(result.mean_latency_ms.min())
    full = float(result.mean_latency_ms[result.full_index])
    target = pick_configuration(result)
    budgets = [math.ceil(float(result.mean_latency_ms[target]) * 10) / 10] if target is not None else []
    budgets += [round(cheapest + f * (full - cheapest), 1) for f in (0.7, 0.6, 0.8, 0.5, 0.9, 0.4, 0.3)]
    for budget in budgets:
        page.value_spin.setValue(budget)      # as typed into the budget's box: the page chooses at once
        if page.chosen is not None:
            config = result.config(page.chosen)
            if len(config.exits) > 1 and config.mode == "dynamic":
                return
    raise ScreenshotError("no latency budget between the cheapest configuration and the full network chooses "
                          "a configuration with early exits")


def shoot_search(window, out: Path, data: str, limit: int, label_free: bool = False) -> Path:
    """A search calibrated on ``data``: a labelled dataset's val split, or (``label_free``) a video."""
    page = window.pages["search"]
    window.show_page("search")
    page.reference_combo.setCurrentIndex(page.reference_combo.findData("final exit" if label_free else "labels"))
    page.data_field.set_text(str(data))
    page.data_field.edit.setCursorPosition(0)
    if not label_free:
        page.split_combo.setCurrentText("val")
    page.limit_spin.setValue(limit)
    page.here_radio.setChecked(True)
    page.kind_combo.setCurrentIndex(page.kind_combo.findData("latency"))
    page.search_button.click()
    must(lambda: not page.running() and page.search_button.isEnabled(), PAGE_WAIT_S, "the search",
         detail=lambda: page.status.text())
    if page.outcome is None:
        raise ScreenshotError(f"the search failed: {page.status.text()}")
    choose_early_exit_budget(page)
    hover(page.plot, page.plot.point_position(page.chosen))       # its description under the plot
    wait_until(lambda: "mIoU" in page.hover_label.text(), 5)
    page.measure_button.click()                                    # the same-run speed-up, measured
    must(lambda: not page.running() and page.search_button.isEnabled(), PAGE_WAIT_S, "the measured speed-up",
         detail=lambda: page.status.text())
    pause(0.5)                                                     # the taller Measured row laid out
    return save(window, out / "search.png")


def hover(widget, pos) -> None:
    """The mouse pointer over ``pos`` of a graphics view (as a user pointing at a point of the plot)."""
    from PySide6.QtTest import QTest

    QTest.mouseMove(widget.viewport(), pos)


def shoot_live(window, out: Path, video: str, play_seconds: float, presentation: bool,
               size: tuple[int, int], live_thresholds: tuple[float, float] | None = None,
               opacity: int = 100) -> list[Path]:
    page = window.pages["live"]
    window.show_page("live")
    page.opacity_slider.setValue(opacity)
    if live_thresholds is not None:
        if not page.sliders.isEnabled():
            raise ScreenshotError("the applied configuration has no thresholds to set (--live-thresholds)")
        page.sliders.set_values(*live_thresholds, emit=True)     # as moving the sliders does
    page.source.set_source("file", str(video))
    page.loop_check.setChecked(True)
    page.realtime_check.setChecked(True)
    page.full_button.setChecked(False)
    page.side_button.setChecked(False)
    page.start()
    must(lambda: page.view.frames_shown > 0 or page.has_error, FRAME_WAIT_S, "the first frame",
         detail=lambda: page.status.text())
    if page.has_error:
        raise ScreenshotError(f"the Live page cannot play {video}: {page.status.text()}")
    pause(play_seconds)
    must(lambda: page.latency_plot.count >= 3, FRAME_WAIT_S, "the latency plot")
    saved = [save(window, out / "live.png")]

    page.side_button.setChecked(True)
    must(lambda: page.last_frame is not None and page.last_frame.result.full_latency_ms is not None,
         FRAME_WAIT_S, "a side-by-side frame")
    pause(max(2.0, play_seconds / 2))
    saved.append(save(window, out / "live-side-by-side.png"))
    page.side_button.setChecked(False)
    must(lambda: page.last_frame is not None and page.last_frame.result.full_latency_ms is None,
         FRAME_WAIT_S, "a frame without the full network")

    if presentation:
        page.set_presentation(True)
        must(window.isFullScreen, 10, "full screen")
        screen = window.screen().geometry()
        if (screen.width(), screen.height()) != tuple(size):
            print(f"note: the screen is {screen.width()}x{screen.height()}, so presentation.png is that size",
                  flush=True)
        start = page.view.frames_shown
        must(lambda: page.view.frames_shown >= start + 2, FRAME_WAIT_S, "frames in presentation mode")
        pause(1.0)
        saved.append(save(window, out / "presentation.png"))
        page.set_presentation(False)
        wait_until(lambda: not window.isFullScreen(), 10)
    page.stop()
    return saved


# --- main ----------------------------------------------------------------------------------------
def take_screenshots(args: argparse.Namespace, work: Path) -> list[Path]:
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow
    from app.settings import APPLICATION, ORGANISATION, Settings
    from app.state import AppState

    app = QApplication.instance()
    if app is None:
        platform = os.environ.get("QT_QPA_PLATFORM")
        use_offscreen_screen(args.size, work)
        app = QApplication([sys.argv[0]])
        if platform is None:         # the temporary screen file is gone after this run: children must not see it
            os.environ.pop("QT_QPA_PLATFORM", None)
        else:
            os.environ["QT_QPA_PLATFORM"] = platform
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model = copy_bundled_model(work / "models")
    settings = Settings(str(work / "settings.ini"))
    state = AppState(device="cpu")
    window = MainWindow(settings, state)
    window.resize(*args.size)
    window.show_page("model")
    window.show()
    saved: list[Path] = []
    try:
        failure: list[str] = []
        state.model_failed.connect(failure.append)
        state.open_model(model)
        must(lambda: state.net is not None or bool(failure), PAGE_WAIT_S, "the model to load")
        if failure:
            raise ScreenshotError(f"cannot open the model: {failure[0]}")
        wait_for_costs(window)
        if args.run:
            saved.append(shoot_train(window, out, args.run))
        else:
            print("note: no --run given, so train.png is skipped", flush=True)
        saved.append(shoot_search(window, out, args.video if args.label_free else args.data, limit=args.limit,
                                  label_free=args.label_free))
        window.pages["search"].apply_button.click()      # 'Apply to Live': the Model and Live pages show it
        saved.insert(0, shoot_model(window, out))
        saved.extend(shoot_live(window, out, args.video, play_seconds=args.play_seconds,
                                presentation=not args.no_presentation, size=args.size,
                                live_thresholds=args.live_thresholds, opacity=args.opacity))
    finally:
        window.close()               # stops the workers (and saves the temporary settings)
        window.deleteLater()
        pause(0.2)
    return saved


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        check_inputs(args)
        with tempfile.TemporaryDirectory(prefix="mess-screenshots-") as work:
            take_screenshots(args, Path(work))
    except ScreenshotError as exc:
        print(f"screenshots: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

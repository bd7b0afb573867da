"""The Live page, clicked through like a user: play a clip, change thresholds and configurations while it runs,
switch sources, bad sources, pause and step, record, side by side, presentation mode, persisted settings.

Clips are written at test time (cv2.VideoWriter mp4v, 120x160); the model is the bundled one on the CPU, so
frames take ~0.1-0.3 s each on this machine: every wait is generous and nothing asserts a timing.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from app.pages import load_pages
from app.pages.live_page import LivePage
from app.settings import Settings
from core.cli.common import BUNDLED_MODEL
from core.models.spec import FINAL_EXIT
from core.runtime.video import sources
from core.runtime.config import ExitConfig
from tests.data.builders import noise_frames, street_frames, write_image_folder, write_video
from tests.train.conftest import one_thread

from .conftest import LOAD_TIMEOUT_MS

FRAME_TIMEOUT_MS = 90_000
FIRST_EXIT = "features.3:fcn-c64-b0"


@pytest.fixture(autouse=True)
def single_thread():
    with one_thread():        # a shared 2-core machine: one torch thread
        yield


def write_clip(path: Path, frames: int = 8, h: int = 120, w: int = 160, seed: int = 3) -> Path:
    """A short mp4v clip: a red box moving over a noisy street-ish background."""
    return write_video(path, street_frames(frames, (h, w), seed=seed, x0=10, dx=12, box=(30, 10, 15)))


@pytest.fixture
def clip(tmp_path) -> Path:
    return write_clip(tmp_path / "clip.mp4")


@pytest.fixture
def page(window, qtbot, tmp_path) -> LivePage:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=10_000)     # shortcuts need the active window
    qtbot.keyClick(window, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)
    page = window.pages["live"]
    assert window.tabs.currentWidget() is page
    page.realtime_check.setChecked(False)      # tests: every frame, as fast as the model goes
    page.record_dir.set_text(str(tmp_path / "recordings"))
    return page


def play(qtbot, page: LivePage, kind: str, spec, frames: int = 2) -> None:
    """Choose a source, press Start, and wait for ``frames`` new frames on screen."""
    page.source.set_source(kind, spec)
    if not page.running:
        qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    wait_frames(qtbot, page, frames)


def wait_frames(qtbot, page: LivePage, n: int) -> None:
    start = page.view.frames_shown
    qtbot.waitUntil(lambda: page.view.frames_shown >= start + n or page.has_error, timeout=FRAME_TIMEOUT_MS)
    assert not page.has_error, page.status.text()


def wait_stopped(qtbot, page: LivePage) -> None:
    qtbot.waitUntil(lambda: not page.running, timeout=FRAME_TIMEOUT_MS)


def two_exits(th: float) -> ExitConfig:
    return ExitConfig([FIRST_EXIT, FINAL_EXIT], th_pix=[th, th], th_img=[th, th])


def test_the_page_is_registered_as_live_with_ctrl_4(window, qtbot):
    entry = load_pages().get("live")
    assert (entry.title, entry.shortcut, entry.factory) == ("Live", "Ctrl+4", LivePage)
    page = window.pages["live"]
    for button in (page.start_button, page.pause_button, page.step_button, page.record_button, page.full_button,
                   page.side_button, page.present_button, page.reset_button):
        assert button.toolTip()
    assert page.loop_check.isChecked(), "Loop is on by default (a demo)"
    assert page.config_label.text() and "full network" in page.config_label.text()
    assert not page.sliders.isEnabled(), "the full network has no thresholds"
    assert len(page.legend.labels) == 11 and "Sky" in page.legend.labels[0].text()


def test_a_clip_plays_with_changing_readouts_plots_and_frames(page, qtbot, clip):
    assert page.realtime_check.isChecked() is False and page.loop_check.isChecked()
    play(qtbot, page, "file", clip)
    assert page.running and page.start_button.text() == "Stop"
    assert "clip.mp4" in page.status.text() and "8 frames" in page.status.text()
    seen_frames, seen_latency = set(), set()

    def collect() -> bool:
        seen_frames.add(page.readouts.text("frame"))
        seen_latency.add(page.readouts.text("latency"))
        return len(seen_frames) >= 4
    qtbot.waitUntil(collect, timeout=FRAME_TIMEOUT_MS)
    assert page.readouts.text("exit") == "final" and page.readouts.text("latency").endswith(" ms")
    assert page.readouts.detail("frame") == "of 8" and len(seen_latency) >= 2
    assert page.view.image() is not None and page.view.image().width() > 100
    qtbot.waitUntil(lambda: float(page.readouts.text("fps")) > 0, timeout=FRAME_TIMEOUT_MS)
    assert page.readouts.text("confidence").endswith("%") and page.readouts.text("dropped") == "0"
    qtbot.waitUntil(lambda: page.latency_plot.count >= 3, timeout=FRAME_TIMEOUT_MS)   # the timer redraws
    assert sum(page.histogram.counts.values()) >= 3 and list(page.histogram.counts) == ["final"]
    wait_frames(qtbot, page, 8)                      # past the clip's end: Loop starts it again
    assert page.running
    qtbot.mouseClick(page.reset_button, Qt.MouseButton.LeftButton)
    assert sum(page.histogram.counts.values()) == 0
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    assert not page.running and page.start_button.text() == "Start" and "Stopped" in page.status.text()
    assert page.view.image() is not None, "the last frame stays on screen"


def test_a_busy_ui_is_handed_only_the_newest_frame(page, qtbot, clip):
    """The worker never queues frames up for a UI that is behind: one signal, and the newest frame wins."""
    play(qtbot, page, "file", clip)
    worker = page._worker
    signals: list[int] = []
    worker.frame_ready.connect(lambda: signals.append(1))
    qtbot.wait(300)
    shown, processed = page.view.frames_shown, worker.summary()["frames"]
    signals.clear()
    deadline = time.monotonic() + 60                  # the UI thread is busy: no event is handled meanwhile,
    while worker.summary()["frames"] - processed < 3 and time.monotonic() < deadline:   # until 3 more frames
        time.sleep(0.05)                              # (2 s fixed gave 2 frames on a loaded 2-core machine)
    during = worker.summary()["frames"] - processed
    QApplication.processEvents()
    assert during >= 3, "the worker went on meanwhile"
    assert page.view.frames_shown == shown + 1 and len(signals) <= 1, "one frame handed over, not a queue"
    # the worker counts a frame before drawing and handing it over, so the newest frame handed
    # over may be one behind the count read above (the next one was still being drawn)
    assert page.last_frame.processed >= processed + during - 1, "and it is the newest"


def test_without_loop_the_clip_ends_and_says_so(page, qtbot, clip):
    page.loop_check.setChecked(False)
    play(qtbot, page, "file", clip)
    wait_stopped(qtbot, page)
    assert "end of the video" in page.status.text() and "8 frames" in page.status.text(), page.status.text()
    assert not page.has_error


def test_thresholds_move_the_exits_while_running(page, qtbot, clip, loaded_state):
    loaded_state.set_config(two_exits(0.9))
    assert page.sliders.isEnabled() and (page.sliders.th_pix, page.sliders.th_img) == (0.9, 0.9)
    assert "features.3" in page.config_label.text() and "final" in page.config_label.text()
    play(qtbot, page, "file", clip)
    page.sliders.sliders["th_pix"].setValue(0)
    page.sliders.sliders["th_img"].setValue(0)
    assert page.sliders.values["th_pix"].text() == "0.00"
    runner = page._worker           # the configuration it runs from the next frame (the player's thread switches)
    assert runner.config.th_pix == [0.0, 0.0] and runner.config.th_img == [0.0, 0.0]
    assert loaded_state.config.th_pix == [0.9, 0.9], "the applied configuration itself is left alone"
    qtbot.waitUntil(lambda: page.last_frame.result.exit_id == FIRST_EXIT, timeout=FRAME_TIMEOUT_MS)
    wait_frames(qtbot, page, 2)
    assert page.last_frame.result.exit_id == FIRST_EXIT and page.readouts.text("exit") == "features.3"
    assert "exit 1 of 2" in page.readouts.detail("exit")
    words = page.readouts.detail("exit")            # in plain words: from the latency table the Model page
    assert "% of the network" in words and "x faster" in words     # measured on opening the model, or FLOPs
    basis = page.readouts.tiles["exit"].toolTip()
    assert "from the latency table measured on the Model page" in basis or "from FLOPs" in basis
    page.sliders.sliders["th_pix"].setValue(100)
    page.sliders.sliders["th_img"].setValue(100)
    assert runner.config.th_pix == [1.0, 1.0] and runner.config.th_img == [1.0, 1.0]
    qtbot.waitUntil(lambda: page.last_frame.result.exit_id == FINAL_EXIT, timeout=FRAME_TIMEOUT_MS)
    wait_frames(qtbot, page, 2)
    assert page.last_frame.result.exit_id == FINAL_EXIT and "exit 2 of 2" in page.readouts.detail("exit")
    page.redraw_plots()
    def both_counted() -> bool:
        return page.histogram.counts.get("features.3", 0) > 0 and page.histogram.counts.get("final", 0) > 0
    qtbot.waitUntil(both_counted, timeout=FRAME_TIMEOUT_MS)
    assert list(page.histogram.counts) == ["features.3", "final"]


def test_a_configuration_applied_while_running_and_the_full_network_toggle(page, qtbot, clip, loaded_state):
    play(qtbot, page, "file", clip)
    assert page.last_frame.result.exit_id == FINAL_EXIT
    loaded_state.set_config(two_exits(0.0))             # the Search page's "Apply to Live"
    assert page._worker.config.exits == [FIRST_EXIT, FINAL_EXIT]
    qtbot.waitUntil(lambda: page.last_frame.result.exit_id == FIRST_EXIT, timeout=FRAME_TIMEOUT_MS)
    assert "Configuration applied" in page.status.text()
    qtbot.mouseClick(page.full_button, Qt.MouseButton.LeftButton)
    assert page._worker.config is None and "full network" in page.config_label.text()
    assert not page.sliders.isEnabled()
    qtbot.waitUntil(lambda: page.last_frame.result.exit_id == FINAL_EXIT, timeout=FRAME_TIMEOUT_MS)
    qtbot.mouseClick(page.full_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.last_frame.result.exit_id == FIRST_EXIT, timeout=FRAME_TIMEOUT_MS)
    loaded_state.set_config(ExitConfig(["features.99:nothing", FINAL_EXIT]))   # does not fit the model
    assert page.has_error and "features.99" in page.status.text()
    assert page.running and page._worker.config.exits == [FIRST_EXIT, FINAL_EXIT], "the loop keeps the last good one"


def test_switching_sources_while_running(page, qtbot, clip, tmp_path):
    folder = write_image_folder(tmp_path / "frames", noise_frames(4, (90, 120), seed=5), names="img_{i:02d}.png")
    play(qtbot, page, "file", clip)
    first = page._worker
    page.source.set_source("folder", folder)
    assert page._worker is not first and page.running
    qtbot.waitUntil(lambda: page.source_info is not None and page.source_info.kind == "folder",
                    timeout=FRAME_TIMEOUT_MS)
    wait_frames(qtbot, page, 2)
    assert page.last_frame.frame_count == 4 and page.readouts.detail("frame") == "of 4"
    page.source.set_source("file", clip)
    qtbot.waitUntil(lambda: page.source_info is not None and page.source_info.kind == "file", timeout=FRAME_TIMEOUT_MS)
    wait_frames(qtbot, page, 2)
    assert page.last_frame.frame_count == 8
    qtbot.waitUntil(lambda: not first.is_running(), timeout=FRAME_TIMEOUT_MS)


@pytest.mark.parametrize("kind, spec, words", [
    ("file", "missing.mp4", "no such file"),
    ("folder", "empty", "no images"),
    ("file", "not-a-video.mp4", "not a video"),
    ("rtsp", "rtsp://127.0.0.1:9/x", "127.0.0.1"),
    ("webcam", "99", "webcam 99"),
])
def test_a_bad_source_gives_a_message_and_the_page_stays_usable(page, qtbot, clip, tmp_path, kind, spec, words):
    if kind in ("file", "folder"):
        (tmp_path / "empty").mkdir()
        (tmp_path / "not-a-video.mp4").write_bytes(b"\x00garbage" * 100)
        (tmp_path / "empty" / "notes.txt").write_text("no images here")
        spec = str(tmp_path / spec)
    page.source.set_source(kind, spec)
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    assert page.running and page.start_button.text() == "Stop"      # opening happens on the worker
    qtbot.waitUntil(lambda: page.has_error, timeout=20_000)
    wait_stopped(qtbot, page)
    message = page.status.text()
    assert words in message and "\n" not in message, message
    assert page.start_button.text() == "Start"
    play(qtbot, page, "file", clip)                                  # still usable
    assert not page.has_error


def test_a_silent_stream_connects_on_the_worker_and_the_ui_stays_live(page, qtbot):
    """A server that accepts the connection and never answers: the open runs to its 5 s timeout, on the worker."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    url = f"rtsp://127.0.0.1:{server.getsockname()[1]}/silent"
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    try:
        page.source.set_source("rtsp", url)
        timer.start(20)
        qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
        assert f"Connecting to {url}" in page.status.text() and not page.has_error
        qtbot.wait(1500)
        assert page.running and "Connecting" in page.status.text()
        qtbot.waitUntil(lambda: page.has_error, timeout=30_000)
    finally:
        timer.stop()
        server.close()
    assert not page.running and url.split("/silent")[0] in page.status.text()
    gaps = np.diff(ticks)
    assert len(ticks) > 20 and gaps.max() < 1.0, f"the UI stalled {gaps.max():.2f} s while connecting"


class UnpluggedCamera:
    """A cv2.VideoCapture stand-in for a webcam: ``frames`` frames at ~30 fps, then nothing (unplugged)."""

    def __init__(self, frames: int) -> None:
        self.frames = frames
        self.released = False
        self.rng = np.random.default_rng(0)

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return not self.released

    def read(self):
        time.sleep(0.03)
        if self.frames <= 0 or self.released:
            return False, None
        self.frames -= 1
        return True, self.rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)

    def get(self, prop: int) -> float:
        return 30.0 if prop == cv2.CAP_PROP_FPS else -1.0

    def release(self) -> None:
        self.released = True


def test_a_webcam_unplugged_mid_run_stops_with_a_message(page, qtbot, monkeypatch, clip):
    camera = UnpluggedCamera(frames=40)
    real = sources.make_capture
    monkeypatch.setattr(sources, "make_capture",
                        lambda target, api, params: camera if isinstance(target, int) else real(target, api, params))
    play(qtbot, page, "webcam", 0, frames=1)
    assert "webcam 0" in page.status.text() and not page.loop_check.isEnabled()
    qtbot.waitUntil(lambda: page.has_error, timeout=FRAME_TIMEOUT_MS)
    wait_stopped(qtbot, page)
    assert "webcam 0" in page.status.text() and "stopped delivering frames" in page.status.text()
    qtbot.waitUntil(lambda: camera.released, timeout=10_000)
    play(qtbot, page, "file", clip)                                  # still usable


def in_flight_settled(qtbot, page, quiet_ms: int = 800, timeout_s: float = 30.0) -> None:
    """Wait until no frame has been processed or shown for ``quiet_ms`` (after a pause, the frame that was
    being processed still arrives: 800 ms fixed was too short on a loaded 2-core machine)."""
    deadline = time.monotonic() + timeout_s
    seen = None
    while time.monotonic() < deadline:
        now = (page._worker.summary()["frames"], page.view.frames_shown)
        if now == seen:
            return
        seen = now
        qtbot.wait(quiet_ms)


def test_pause_step_and_play_with_the_keyboard(page, qtbot, clip):
    play(qtbot, page, "file", clip)
    qtbot.keyClick(page, Qt.Key.Key_Space)
    assert page.pause_button.isChecked() and page.pause_button.text() == "Play" and page.step_button.isEnabled()
    in_flight_settled(qtbot, page, quiet_ms=2000)         # a frame already in flight may still arrive

    def processed() -> int:
        return page._worker.summary()["frames"]

    before, index = processed(), page.last_frame.result.index
    qtbot.wait(800)
    # paused: no new frame is processed (a redraw of the paused frame, after a layout change, is no new frame)
    assert processed() == before and page.last_frame.result.index == index, "paused: no new frame"
    qtbot.keyClick(page, Qt.Key.Key_Period)
    qtbot.waitUntil(lambda: processed() == before + 1 and page.last_frame.result.index == index + 1,
                    timeout=FRAME_TIMEOUT_MS)
    assert page.last_frame.result.index == index + 1, "the next frame, none skipped"
    assert page.readouts.text("fps") == "paused", "paused, the rolling rate (0.0-0.6) is not a frame rate"
    qtbot.mouseClick(page.step_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: processed() == before + 2 and page.last_frame.result.index == index + 2,
                    timeout=FRAME_TIMEOUT_MS)
    shown = page.view.frames_shown
    page.opacity_slider.setValue(90)                      # paused: the frame is drawn again at once
    qtbot.waitUntil(lambda: page.view.frames_shown > shown and page.last_frame.refreshed, timeout=FRAME_TIMEOUT_MS)
    assert processed() == before + 2 and page.last_frame.result.index == index + 2, "drawn again, not run on"
    qtbot.keyClick(page, Qt.Key.Key_Space)
    assert not page.pause_button.isChecked()
    wait_frames(qtbot, page, 3)
    assert page.readouts.text("fps") != "paused"


def test_record_a_few_frames_and_read_the_file_back(page, qtbot, clip, tmp_path):
    page.record_dir.set_text(str(tmp_path / "videos"))
    play(qtbot, page, "file", clip)
    qtbot.mouseClick(page.record_button, Qt.MouseButton.LeftButton)
    assert page.record_button.isChecked() and page.record_button.text() != "Record"
    qtbot.waitUntil(lambda: "Recording to" in page.record_label.text() and "●" in page.record_label.text(),
                    timeout=FRAME_TIMEOUT_MS)
    wait_frames(qtbot, page, 3)
    qtbot.mouseClick(page.record_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.last_recording is not None, timeout=FRAME_TIMEOUT_MS)
    path = Path(page.last_recording)
    assert path.parent == tmp_path / "videos" and path.name.startswith("mess-live-") and path.suffix == ".mp4"
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    assert count >= 3
    assert "Saved" in page.record_label.text() and not list((tmp_path / "videos").glob(".*part*"))
    # Stop finishes a recording too
    page.last_recording = None
    second = tmp_path / "videos" / "second.mp4"
    page.start_recording(second)
    wait_frames(qtbot, page, 2)
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.last_recording == str(second), timeout=FRAME_TIMEOUT_MS)
    assert second.stat().st_size > 0 and not page.record_button.isChecked()


def test_recording_is_finished_by_shutdown(page, qtbot, clip, tmp_path):
    play(qtbot, page, "file", clip)
    target = tmp_path / "at-exit.mp4"
    page.start_recording(target)
    qtbot.waitUntil(lambda: "●" in page.record_label.text(), timeout=FRAME_TIMEOUT_MS)
    wait_frames(qtbot, page, 1)
    page.shutdown()
    assert not page.running and target.is_file() and target.stat().st_size > 0


def test_record_before_start_says_to_start(page, qtbot):
    page.record_button.setEnabled(True)
    qtbot.mouseClick(page.record_button, Qt.MouseButton.LeftButton)
    assert not page.record_button.isChecked() and page.has_error


def test_side_by_side_shows_both_latencies(page, qtbot, clip):
    play(qtbot, page, "file", clip)
    narrow = page.view.image().width() / page.view.image().height()
    qtbot.mouseClick(page.side_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.last_frame.result.full_latency_ms is not None, timeout=FRAME_TIMEOUT_MS)
    assert page.readouts.detail("latency").startswith("full network") and page.readouts.detail("latency").endswith("ms")
    assert page.readouts.text("latency").endswith("ms")
    wide = page.view.image().width() / page.view.image().height()
    assert wide > 1.8 * narrow or wide < narrow / 1.8, "two pictures, side by side or one above the other"
    full_line = page.latency_plot.full_line
    qtbot.waitUntil(lambda: full_line.xData is not None and len(full_line.xData) > 0, timeout=FRAME_TIMEOUT_MS)
    qtbot.mouseClick(page.side_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.last_frame.result.full_latency_ms is None, timeout=FRAME_TIMEOUT_MS)
    assert page.readouts.detail("latency") == ""


def test_presentation_mode_with_f5_and_escape(window, page, qtbot, clip):
    play(qtbot, page, "file", clip)
    qtbot.keyClick(page, Qt.Key.Key_F5)
    assert page.presenting and page.present_button.isChecked()
    qtbot.waitUntil(window.isFullScreen, timeout=5000)
    assert not page.controls_bar.isVisible() and not page.side_panel.isVisible() and not page.bottom_bar.isVisible()
    assert not window.tabs.tabBar().isVisible() and not window.menuBar().isVisible()
    assert page.view.isVisible() and page.readouts.isVisible()
    wait_frames(qtbot, page, 1)
    qtbot.keyClick(page, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not window.isFullScreen(), timeout=5000)
    assert not page.presenting and page.controls_bar.isVisible() and window.tabs.tabBar().isVisible()
    qtbot.mouseClick(page.present_button, Qt.MouseButton.LeftButton)       # the button, and F11 leaves it too
    qtbot.waitUntil(window.isFullScreen, timeout=5000)
    window.fullscreen_action.trigger()
    qtbot.waitUntil(lambda: not window.isFullScreen(), timeout=5000)
    assert not page.presenting and page.side_panel.isVisible() and window.menuBar().isVisible()


def test_settings_persist(page, qtbot, clip, tmp_path, loaded_state):
    page.source.set_source("file", clip)
    page.opacity_slider.setValue(70)
    assert page.overlay_combo.currentData() == "outline", "outlines by default"
    page.overlay_combo.setCurrentIndex(page.overlay_combo.findData("high-contrast"))
    assert page.controls.overlay == "high-contrast"
    page.loop_check.setChecked(False)
    page.record_dir.set_text(str(tmp_path / "rec"))
    path = str(tmp_path / "live.ini")
    page.settings = Settings(path)
    page.save_settings()
    page.settings.sync()
    again = LivePage(loaded_state, Settings(path))
    qtbot.addWidget(again)
    assert (again.source.kind(), again.source.spec()) == ("file", str(clip))
    assert again.opacity_slider.value() == 70 and again.opacity_label.text() == "70 %"
    assert again.controls.overlay == "high-contrast" and again.overlay_combo.currentData() == "high-contrast"
    assert not again.loop_check.isChecked() and not again.realtime_check.isChecked()
    assert again.record_dir.text() == str(tmp_path / "rec")
    again.source.set_source("rtsp", "rtsp://cam.local/stream")
    again.save_settings()
    third = LivePage(loaded_state, Settings(path))
    qtbot.addWidget(third)
    assert (third.source.kind(), third.source.spec()) == ("rtsp", "rtsp://cam.local/stream")
    third.source.kind_combo.setCurrentIndex(third.source.kind_combo.findData("file"))
    assert third.source.spec() == str(clip), "each kind keeps its own value"
    for p in (again, third):
        p.shutdown()


def test_start_without_a_source_or_model_says_what_is_missing(page, qtbot, settings):
    page.source.set_source("rtsp", "")
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    assert page.has_error and "stream URL" in page.status.text() and not page.running
    from app.state import AppState
    empty = LivePage(AppState(device="cpu"), settings)
    qtbot.addWidget(empty)
    empty.source.set_source("file", "x.mp4")
    empty.start()
    assert empty.has_error and "Open a model" in empty.status.text()


def test_a_new_model_restarts_the_loop_on_it(page, qtbot, clip, loaded_state):
    play(qtbot, page, "file", clip)
    before = page._worker
    with qtbot.waitSignal(loaded_state.model_changed, timeout=LOAD_TIMEOUT_MS):
        loaded_state.open_model(BUNDLED_MODEL)
    assert page.running and page._worker is not before and page._worker.net is loaded_state.net
    wait_frames(qtbot, page, 2)
    assert "Model changed" in page.status.text() or "Playing" in page.status.text()


def test_a_real_video_plays_in_real_time(page, qtbot, videos_root, tmp_path):
    video = videos_root / "highway.mp4"
    if not video.is_file():
        pytest.skip(f"{video} is absent")
    page.realtime_check.setChecked(True)
    play(qtbot, page, "file", video, frames=4)
    assert "25 fps" in page.status.text() and page.readouts.detail("frame") == "of 221"
    qtbot.waitUntil(lambda: int(page.readouts.text("dropped")) > 0, timeout=FRAME_TIMEOUT_MS)  # the CPU model is slower
    image = page.view.image()
    assert abs(image.width() / image.height() - 16 / 9) < 0.05, "shown at the video's own aspect"
    page.window().grab().save(str(tmp_path / "live.png"))


def test_in_presentation_mode_f_b_and_the_threshold_keys_work(window, page, qtbot, clip, loaded_state):
    loaded_state.set_config(two_exits(0.9))
    play(qtbot, page, "file", clip)
    qtbot.keyClick(page, Qt.Key.Key_F5)
    assert page.presenting and not page.full_button.isVisible()
    assert page.exit_legend.isVisible(), "the exit colours are explained in presentation mode"
    assert page.exit_legend.texts() == ["exit 1 of 2 · features.3", "exit 2 of 2 · final"]
    qtbot.keyClick(page, Qt.Key.Key_F)
    assert page._worker.config is None and page.controls.full_network and page.full_button.isChecked()
    assert page.exit_legend.texts() == ["exit 1 of 1 · final"]
    qtbot.keyClick(page, Qt.Key.Key_F)
    assert page._worker.config.exits == [FIRST_EXIT, FINAL_EXIT] and not page.full_button.isChecked()
    qtbot.keyClick(page, Qt.Key.Key_B)
    assert page.controls.side_by_side and page.side_button.isChecked()
    qtbot.waitUntil(lambda: page.last_frame.result.full_latency_ms is not None, timeout=FRAME_TIMEOUT_MS)
    qtbot.keyClick(page, Qt.Key.Key_B)
    assert not page.controls.side_by_side
    qtbot.keyClick(page, Qt.Key.Key_Down)
    runner = page._worker           # the configuration it runs from the next frame (the player's thread switches)
    assert runner.config.th_img == [0.85, 0.85] and runner.config.th_pix == [0.9, 0.9]
    assert "th_img 0.85" in page.view.flash_text and page.sliders.th_img == 0.85, "shown on the frame"
    qtbot.keyClick(page, Qt.Key.Key_Minus)
    qtbot.keyClick(page, Qt.Key.Key_Up, Qt.KeyboardModifier.ShiftModifier)
    assert runner.config.th_img == [0.8, 0.8] and runner.config.th_pix == [0.95, 0.95]
    qtbot.keyClick(page, Qt.Key.Key_Escape)
    assert not page.presenting and not page.exit_legend.isVisible()
    qtbot.keyClick(page, Qt.Key.Key_Down)
    assert runner.config.th_img == [0.8, 0.8], "outside presentation mode Up and Down are the widgets' keys"


def test_a_configuration_that_never_fires_says_what_to_do(page, qtbot, clip, loaded_state):
    loaded_state.set_config(two_exits(1.0))              # nothing is ever confident enough to leave early
    page.controls.watch.frames = 4                       # (the page waits for 30 frames; the clip has 8)
    play(qtbot, page, "file", clip)
    qtbot.waitUntil(lambda: bool(page.view.notice), timeout=FRAME_TIMEOUT_MS)
    assert "No frame left early" in page.view.notice and "lower th_img" in page.view.notice
    assert "calibrate on this footage" in page.status.text() and not page.has_error
    page.sliders.sliders["th_pix"].setValue(0)
    page.sliders.sliders["th_img"].setValue(0)
    qtbot.waitUntil(lambda: page.last_frame.result.exit_id == FIRST_EXIT, timeout=FRAME_TIMEOUT_MS)
    assert page.view.notice == ""
    qtbot.mouseClick(page.full_button, Qt.MouseButton.LeftButton)
    wait_frames(qtbot, page, 6)
    assert page.view.notice == "", "the full network is not a configuration that fails to fire"


def test_a_failed_source_clears_the_previous_frame_and_readouts(page, qtbot, clip, tmp_path):
    play(qtbot, page, "file", clip)
    assert page.view.image() is not None and page.readouts.text("exit") == "final"
    page.source.set_source("file", str(tmp_path / "missing.mp4"))
    qtbot.waitUntil(lambda: page.has_error, timeout=20_000)
    assert page.view.image() is None and "missing.mp4" in page.view.hint, "the error, where the frame was"
    assert page.readouts.text("exit") == "–" and page.readouts.text("frame") == "–" and page.last_frame is None


def test_anytime_refines_the_overlay_exit_by_exit_and_persists(page, qtbot, clip, loaded_state, tmp_path):
    loaded_state.set_config(two_exits(0.0))                        # every frame could leave at the first exit
    play(qtbot, page, "file", clip)
    seen = []
    show = page.readouts.show
    page.readouts.show = lambda readouts: (seen.append((page.last_frame.refining, page.last_frame.result.exit_id)),
                                           show(readouts))
    qtbot.keyClick(page, Qt.Key.Key_A)
    assert page.controls.anytime and page.anytime_button.isChecked() and page._worker.player.anytime
    qtbot.waitUntil(lambda: (True, FIRST_EXIT) in seen and (False, FINAL_EXIT) in seen, timeout=FRAME_TIMEOUT_MS)
    assert (True, FINAL_EXIT) not in seen                          # the last exit's answer is the frame itself
    path = str(tmp_path / "live.ini")
    page.settings = Settings(path)
    page.save_settings()
    again = LivePage(loaded_state, Settings(path))
    qtbot.addWidget(again)
    assert again.controls.anytime and again.anytime_button.isChecked()
    again.shutdown()
    qtbot.mouseClick(page.anytime_button, Qt.MouseButton.LeftButton)
    assert not page.controls.anytime and not page._worker.player.anytime

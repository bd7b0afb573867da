"""Video sources: every kind, RGB frames in order, and one-line errors that name the source.

The webcam tests use a fake capture (no camera on a build machine) except for the
error of an index that does not exist; the stream test uses a refused local port.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.errors import ConfigError, SourceError
from core.runtime.video import sources
from core.runtime.video.sources import FrameSource, open_source, source_kind
from tests.data.builders import write_image_folder, write_video

H, W = 48, 64


def shade(i: int) -> np.ndarray:
    """Frame i as BGR: a flat grey of 20 * i with a pure blue left quarter (red in RGB's third channel)."""
    frame = np.full((H, W, 3), 20 * i, np.uint8)
    frame[:, : W // 4] = (255, 0, 0)  # BGR blue
    return frame


def write_shaded_video(path: Path, frames: int = 8, fps: float = 10.0) -> Path:
    return write_video(path, (shade(i) for i in range(frames)), fps=fps)


def write_shaded_folder(folder: Path, names: list[str]) -> Path:
    return write_image_folder(folder, (shade(i) for i in range(len(names))), names=names)


def one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert text and "\n" not in text, f"not one line: {text!r}"
    return text


class FakeCapture:
    """A cv2.VideoCapture stand-in: ``frames`` good reads, then failures (a camera unplugged)."""

    def __init__(self, frames: int = 3, opened: bool = True, block: threading.Event | None = None) -> None:
        self.frames, self.opened, self.block = frames, opened, block
        self.reads = 0
        self.released = False

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return self.opened and not self.released

    def read(self):
        self.reads += 1
        if self.block is not None and self.reads > 1:
            self.block.wait(10)
        if self.reads > self.frames:
            return False, None
        return True, shade(self.reads)

    def get(self, prop: int) -> float:
        return 30.0 if prop == cv2.CAP_PROP_FPS else -1.0

    def release(self) -> None:
        self.released = True


# --- kinds -------------------------------------------------------------------------------------

def test_each_spec_goes_to_its_kind(tmp_path):
    assert source_kind("0") == "webcam"
    assert source_kind(2) == "webcam"
    for url in ("rtsp://cam.local/stream", "rtsps://h/x", "http://h/v.mjpg", "HTTPS://h/live"):
        assert source_kind(url) == "rtsp"
    assert source_kind(str(tmp_path)) == "folder"
    assert source_kind(str(tmp_path / "clip.mp4")) == "file"
    with pytest.raises(SourceError) as info:
        source_kind("ftp://h/clip.mp4")
    assert "ftp://h/clip.mp4" in one_line(info)


def test_the_kinds_are_a_registry():
    assert list(sources.SOURCES) == ["webcam", "rtsp", "folder", "file"]
    with pytest.raises(ConfigError):
        open_source("0", kind="carrier-pigeon")


def test_empty_spec():
    with pytest.raises(SourceError):
        open_source("  ")


# --- folders and images --------------------------------------------------------------------

def test_folder_reads_images_in_name_order_as_rgb(tmp_path):
    names = ["f_1.png", "f_2.jpg", "f_10.bmp", "f_03.png"]
    folder = write_shaded_folder(tmp_path / "frames", names)
    (folder / "notes.txt").write_text("not an image")
    with open_source(str(folder)) as source:
        assert isinstance(source, FrameSource)
        assert (source.kind, source.live, source.fps, source.frame_count) == ("folder", False, None, 4)
        assert str(folder) in source.name
        frames = list(source)
        assert source.read() is None
    # natural order: 1, 2, 03, 10 -> written as shades 0, 1, 3, 2
    assert [int(round(f[:, W // 2:].mean() / 20)) for f in frames] == [0, 1, 3, 2]
    for frame in frames:
        assert frame.shape == (H, W, 3) and frame.dtype == np.uint8
        left = frame[:, : W // 4].reshape(-1, 3).mean(axis=0)
        assert left[2] > 200 and left[0] < 40  # blue stays blue: the channels are RGB


def test_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("x")
    with pytest.raises(SourceError) as info:
        open_source(str(tmp_path / "empty"))
    assert str(tmp_path / "empty") in one_line(info)


def test_unreadable_image_in_a_folder_names_the_file(tmp_path):
    folder = write_shaded_folder(tmp_path / "frames", ["a.png"])
    (folder / "b.png").write_bytes(b"not a png")
    with open_source(str(folder)) as source:
        assert source.read() is not None
        with pytest.raises(SourceError) as info:
            source.read()
    assert str(folder / "b.png") in one_line(info)


def test_single_image_is_a_one_frame_source(tmp_path):
    write_shaded_folder(tmp_path, ["one.png"])
    with open_source(str(tmp_path / "one.png")) as source:
        assert (source.kind, source.frame_count, source.live) == ("file", 1, False)
        assert source.read().shape == (H, W, 3)
        assert source.read() is None


# --- video files -----------------------------------------------------------------------------

def test_video_file(tmp_path):
    path = write_shaded_video(tmp_path / "clip.mp4", frames=8, fps=10.0)
    with open_source(str(path)) as source:
        assert (source.kind, source.live) == ("file", False)
        assert source.fps == pytest.approx(10.0)
        assert source.frame_count == 8
        frames = list(source)
        assert source.read() is None
    assert len(frames) == 8
    assert all(f.shape == (H, W, 3) and f.dtype == np.uint8 for f in frames)
    means = [f[:, W // 2:].mean() for f in frames]
    assert means == sorted(means)  # in order
    left = frames[3][:, : W // 4].reshape(-1, 3).mean(axis=0)
    assert left[2] > 180 and left[0] < 60  # RGB, not BGR


@pytest.mark.parametrize("make,word", [
    (lambda p: p / "absent.mp4", "no such file"),
    (lambda p: (p / "text.mp4").write_text("hello") and p / "text.mp4", "not a video"),
    (lambda p: (p / "broken.png").write_bytes(b"\x89PNG nonsense") and p / "broken.png", "not an image"),
])
def test_bad_files_give_one_line_naming_them(tmp_path, make, word):
    path = make(tmp_path)
    with pytest.raises(SourceError) as info:
        open_source(str(path))
    line = one_line(info)
    assert str(path) in line and word in line


def test_close_twice_and_read_after_close(tmp_path):
    source = open_source(str(write_shaded_video(tmp_path / "clip.mp4")))
    source.close()
    source.close()
    assert source.read() is None


# --- webcams ---------------------------------------------------------------------------------

def test_a_webcam_that_does_not_exist():
    start = time.monotonic()
    with pytest.raises(SourceError) as info:
        open_source("99")
    assert "webcam 99" in one_line(info)
    assert time.monotonic() - start < sources.DEFAULT_TIMEOUT_S + 2


def test_a_webcam_that_stops_mid_run_raises(monkeypatch):
    fake = FakeCapture(frames=3)
    monkeypatch.setattr(sources, "make_capture", lambda target, api, params: fake)
    with open_source("0") as source:
        assert (source.kind, source.live, source.frame_count, source.fps) == ("webcam", True, None, 30.0)
        assert "webcam 0" == source.name
        for _ in range(3):
            frame = source.read()
            assert frame.shape == (H, W, 3)
        with pytest.raises(SourceError) as info:
            source.read()  # a live source has no normal end
    line = one_line(info)
    assert "webcam 0" in line and "stopped" in line
    assert fake.released


def test_a_webcam_that_opens_but_sends_nothing(monkeypatch):
    monkeypatch.setattr(sources, "make_capture", lambda target, api, params: FakeCapture(frames=0))
    with pytest.raises(SourceError) as info:
        open_source("1")
    assert "webcam 1" in one_line(info)


def test_a_webcam_whose_driver_hangs_on_open(monkeypatch):
    release = threading.Event()

    def hanging(target, api, params):
        release.wait(30)
        return FakeCapture()

    monkeypatch.setattr(sources, "make_capture", hanging)
    start = time.monotonic()
    try:
        with pytest.raises(SourceError) as info:
            open_source("0", timeout_s=0.3)
        assert time.monotonic() - start < 3.0
        assert "webcam 0" in one_line(info) and "0.3 s" in str(info.value)
    finally:
        release.set()


def test_close_while_a_read_blocks_releases_after_the_read(monkeypatch):
    unblock = threading.Event()
    fake = FakeCapture(frames=100, block=unblock)
    monkeypatch.setattr(sources, "make_capture", lambda target, api, params: fake)
    source = open_source("0")
    assert source.read() is not None  # the frame read while opening
    reader = threading.Thread(target=source.read)
    reader.start()
    while fake.reads < 2:
        time.sleep(0.005)
    source.close()  # returns at once, though a read is blocked
    assert not fake.released
    unblock.set()
    reader.join(5)
    assert fake.released
    assert source.read() is None


# --- streams ---------------------------------------------------------------------------------

def test_an_unreachable_stream_fails_within_the_timeout():
    start = time.monotonic()
    with pytest.raises(SourceError) as info:
        open_source("rtsp://127.0.0.1:9/x")
    assert "rtsp://127.0.0.1:9/x" in one_line(info)
    assert time.monotonic() - start < sources.DEFAULT_TIMEOUT_S + 2


def test_a_stream_error_hides_the_password():
    with pytest.raises(SourceError) as info:
        open_source("rtsp://admin:hunter2@127.0.0.1:9/x", timeout_s=2.0)
    line = one_line(info)
    assert "hunter2" not in line and "admin:***@127.0.0.1:9" in line


def test_stream_asks_opencv_for_timeouts(monkeypatch):
    seen = {}

    def capture(target, api, params):
        seen.update(target=target, api=api, params=list(params))
        return FakeCapture(frames=5)

    monkeypatch.setattr(sources, "make_capture", capture)
    with open_source("rtsp://cam.local/live", timeout_s=4.0) as source:
        assert (source.kind, source.live, source.frame_count) == ("rtsp", True, None)
        assert source.read() is not None
    assert seen["target"] == "rtsp://cam.local/live" and seen["api"] == cv2.CAP_FFMPEG
    params = dict(zip(seen["params"][::2], seen["params"][1::2]))
    assert params[cv2.CAP_PROP_OPEN_TIMEOUT_MSEC] == 4000
    assert params[cv2.CAP_PROP_READ_TIMEOUT_MSEC] == 4000

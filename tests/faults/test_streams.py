"""Silent and half-open streams on 127.0.0.1, and a camera whose read never returns.

Servers that accept and then stall, close, or send a valid-looking start (an HTTP 200 of an MJPEG or MP4
stream, a few bytes of an RTSP reply, some frames, half a frame): every case is opened in this process
with a 1 s time-out (one-line SourceError, nothing on stderr, within the time-out), and a few of them
through a real `mess run` (one line on stderr, exit 2, never a hang or an abort (134), nothing
half-written); those subprocesses start together, so that their 5 s time-outs overlap.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import pytest

from core.errors import SourceError
from core.runtime.video import sources
from tests.faults.conftest import hidden_files, mess_argv, mess_env, one_line

BOUNDARY = b"frame"


def jpeg(seed: int) -> bytes:
    image = np.random.default_rng(seed).integers(0, 256, (96, 128, 3), dtype=np.uint8)
    return cv2.imencode(".jpg", image)[1].tobytes()


def mjpeg_part(data: bytes) -> bytes:
    return (b"--" + BOUNDARY + b"\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(data)
            + data + b"\r\n")


MJPEG_HEADER = b"HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=" + BOUNDARY + b"\r\n\r\n"
MP4_HEADER = b"HTTP/1.0 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: 1000000\r\n\r\n"


def frames_then(end: str) -> Callable[[socket.socket], bytes | None]:
    """An MJPEG stream of 12 frames, then: 'stall' (silence), 'half' (half a frame, then silence), 'close'."""
    def reply(conn: socket.socket) -> str:
        conn.sendall(MJPEG_HEADER)
        for i in range(12):
            conn.sendall(mjpeg_part(jpeg(i)))
        if end == "half":
            part = mjpeg_part(jpeg(99))
            conn.sendall(part[: len(part) // 2])
        return "close" if end == "close" else "stall"
    return reply


def sends(data: bytes, then: str) -> Callable[[socket.socket], str]:
    def reply(conn: socket.socket) -> str:
        if data:
            conn.sendall(data)
        return then
    return reply


# A stall while opening: our wait gives up ('no answer'), or FFmpeg's own open time-out of the same length did
# first (a race at the time-out, seen under load).
NO_ANSWER = ("no answer within 5 s", "cannot connect, or not a video stream (tried for up to 5 s)")
# FFmpeg's own read time-out ends these ('stopped delivering'), or else the read watchdog ('no frame for').
STOPPED = ("stopped delivering frames", "no frame for")


@dataclass(frozen=True)
class Case:
    scheme: str
    reply: Callable[[socket.socket], str]   # sends what it sends; returns 'stall' or 'close'
    message: str | tuple[str, ...]          # what the one line on stderr contains (one of them)
    records: bool = False                   # run with --out and --stats (frames came)


CASES = {
    "silent-rtsp": Case("rtsp", sends(b"", "stall"), NO_ANSWER),
    "silent-http": Case("http", sends(b"", "stall"), NO_ANSWER),
    "http-mjpeg-header-then-stall": Case("http", sends(MJPEG_HEADER, "stall"), NO_ANSWER),
    "http-mp4-header-then-stall": Case("http", sends(MP4_HEADER + b"\x00\x00\x00\x18ftypmp42", "stall"),
                                       NO_ANSWER),
    "http-mp4-header-then-close": Case("http", sends(MP4_HEADER + b"\x00\x00\x00\x18ftypmp42", "close"),
                                       "cannot connect, or not a video stream (tried for up to 5 s)"),
    "http-half-a-header-then-close": Case("http", sends(b"HTTP/1.1 200 OK\r\nContent-Ty", "close"),
                                          "cannot connect, or not a video stream (tried for up to 5 s)"),
    "rtsp-partial-reply-then-stall": Case("rtsp", sends(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n", "stall"),
                                          NO_ANSWER),
    "rtsp-partial-reply-then-close": Case("rtsp", sends(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n", "close"),
                                          "cannot connect, or not a video stream (tried for up to 5 s)"),
    "mjpeg-frames-then-stall": Case("http", frames_then("stall"), STOPPED, records=True),
    "mjpeg-frames-then-half-a-frame": Case("http", frames_then("half"), STOPPED, records=True),
    "mjpeg-frames-then-close": Case("http", frames_then("close"), STOPPED, records=True),
}


class HalfOpenServer:
    """A TCP listener on 127.0.0.1 answering every connection with ``reply``, then stalling or closing."""

    def __init__(self, reply: Callable[[socket.socket], str]) -> None:
        self.reply = reply
        self.stop = threading.Event()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(2.0)
                try:
                    conn.recv(4096)        # the request (if the client sends one first)
                except OSError:
                    pass
                if self.reply(conn) == "stall":
                    self.stop.wait(120)
            except OSError:
                pass

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)
        self.listener.close()


def open_case(case: Case, timeout_s: float) -> tuple[str, list[np.ndarray], str]:
    """Open the case's stream in this process and read it to its error: (url, frames read, the error)."""
    server = HalfOpenServer(case.reply)
    url = f"{case.scheme}://127.0.0.1:{server.port}/live"
    frames: list[np.ndarray] = []
    try:
        with pytest.raises(SourceError) as info:
            with sources.open_source(url, timeout_s=timeout_s) as source:
                while len(frames) < 100:
                    frames.append(source.read())
    finally:
        server.close()        # its connections close: a read left inside FFmpeg returns
    return url, frames, str(info.value)


@pytest.mark.parametrize("name", list(CASES))
def test_a_half_open_stream_is_one_line_within_the_timeout(name, capfd):
    """A stream that stopped after some frames also printed OpenCV's 'Stream timeout triggered' warning."""
    case = CASES[name]
    start = time.monotonic()
    url, frames, message = open_case(case, timeout_s=1.0)
    took = time.monotonic() - start
    messages = (case.message,) if isinstance(case.message, str) else case.message
    messages = tuple(m.replace("5 s", "1 s") for m in messages)
    assert message.startswith(f"{url}: ") and any(m in message for m in messages) and "\n" not in message, message
    assert took < 1.0 + sources.READ_GRACE_S + 3.0, f"took {took:.1f} s"
    assert (len(frames) > 0) == case.records
    assert capfd.readouterr().err == "", "OpenCV or FFmpeg wrote to stderr"


# A stream left inside FFmpeg (the abort at exit), and one that stopped mid-run with outputs open (the warning
# line, the outputs): the other cases differ only in what the in-process test above already checks.
SUBPROCESS_CASES = ["silent-rtsp", "mjpeg-frames-then-half-a-frame"]


@dataclass
class Launched:
    url: str
    out: Path
    process: subprocess.Popen


@pytest.fixture(scope="module")
def launched(model_dir, tmp_path_factory):
    """The `mess run` of the subprocess cases, started at once: their 5 s time-outs overlap."""
    servers, runs = [], {}
    for name in SUBPROCESS_CASES:
        case = CASES[name]
        server = HalfOpenServer(case.reply)
        servers.append(server)
        url = f"{case.scheme}://127.0.0.1:{server.port}/live"
        out = tmp_path_factory.mktemp(name)
        extra = ["--out", str(out / "o.mp4"), "--stats", str(out / "s.jsonl")] if case.records else []
        process = subprocess.Popen(mess_argv("run", "--model", str(model_dir), "--source", url, "--backend", "torch",
                                             "--quiet", "--threads", "1", *extra),
                                   env=mess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        runs[name] = Launched(url, out, process)
    yield runs
    for run in runs.values():
        if run.process.poll() is None:
            run.process.kill()
            run.process.communicate()
    for server in servers:
        server.close()


@pytest.mark.slow
@pytest.mark.parametrize("name", SUBPROCESS_CASES)
def test_mess_run_on_a_half_open_stream_is_one_line_and_exit_2(launched, name):
    """A silent stream printed the right line, then 'terminate called without an active exception' (exit 134)."""
    case, run = CASES[name], launched[name]
    try:
        _, err = run.process.communicate(timeout=150)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{name}: mess run still running after 150 s (it hangs)")
    line = one_line(err)
    assert run.process.returncode == 2, f"exit {run.process.returncode} (134 is an abort): {err!r}"
    messages = (case.message,) if isinstance(case.message, str) else case.message
    assert line.startswith(f"mess run: error: {run.url}: ") and any(m in line for m in messages), line
    assert hidden_files(run.out) == [], "no partial file left"
    stats = run.out / "s.jsonl"
    if stats.exists():     # if anything was kept, it is complete
        assert '"summary"' in stats.read_text().splitlines()[-1]


# --- a read that never returns (a driver or backend that ignores the read time-out) -------------

class HangingCapture:
    """A capture whose reads after the first ``good`` ones block until ``unblock`` is set."""

    def __init__(self, good: int, unblock: threading.Event) -> None:
        self.good, self.unblock = good, unblock
        self.reads = 0
        self.released = False
        self.read_after_release = False

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return not self.released

    def read(self):
        self.reads += 1
        if self.reads > self.good:
            self.unblock.wait(60)
        if self.released:
            self.read_after_release = True
        return True, np.full((48, 64, 3), self.reads, np.uint8)

    def get(self, prop: int) -> float:
        return 30.0 if prop == cv2.CAP_PROP_FPS else -1.0

    def release(self) -> None:
        self.released = True


def test_a_live_read_that_never_returns_raises_after_the_timeout(monkeypatch):
    """It used to block for ever: a webcam (V4L2 ignores OpenCV's read time-out) that hangs mid-run hung mess run."""
    unblock = threading.Event()
    fake = HangingCapture(good=3, unblock=unblock)
    monkeypatch.setattr(sources, "make_capture", lambda target, api, params: fake)
    try:
        source = sources.open_source("0", timeout_s=0.3)
        for _ in range(3):
            assert source.read() is not None
        start = time.monotonic()
        with pytest.raises(SourceError) as info:
            source.read()
        assert time.monotonic() - start < 0.3 + sources.READ_GRACE_S + 1.0
        message = str(info.value)
        assert message == "webcam 0: no frame for 1.3 s (the stream or camera stopped answering)"
        with pytest.raises(SourceError, match="no frame for"):
            source.read()          # the capture is unusable now: no second read is started on it
        assert fake.reads == 4
        source.close()
        assert not fake.released, "released while the abandoned read still runs inside it"
    finally:
        unblock.set()
    deadline = time.monotonic() + 5
    while not fake.released and time.monotonic() < deadline:
        time.sleep(0.01)
    assert fake.released and not fake.read_after_release


def test_mess_run_on_a_camera_that_hangs_mid_run_ends_in_one_line(monkeypatch, capsys, model_dir, tmp_path):
    from core.cli.main import main

    unblock = threading.Event()
    monkeypatch.setattr(sources, "make_capture", lambda target, api, params: HangingCapture(good=8, unblock=unblock))
    result: dict[str, int] = {}
    argv = ["run", "--model", str(model_dir), "--source", "0", "--backend", "torch", "--quiet",
            "--stats", str(tmp_path / "s.jsonl")]
    runner = threading.Thread(target=lambda: result.update(code=main(argv)), daemon=True)
    try:
        runner.start()
        runner.join(60)
        assert not runner.is_alive(), "mess run hangs on a camera whose read never returns"
    finally:
        unblock.set()
    line = one_line(capsys.readouterr().err)
    assert result["code"] == 2
    assert line == f"mess run: error: webcam 0: no frame for {sources.DEFAULT_TIMEOUT_S + sources.READ_GRACE_S:g} s " \
                   "(the stream or camera stopped answering)"
    assert hidden_files(tmp_path) == []

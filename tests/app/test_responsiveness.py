"""The UI thread stays responsive while the Live page plays a clip and a training job runs beside it.

A QTimer probe on the UI thread ticks every 10 ms and records when it ran; after a short
warm-up no gap between two ticks may exceed 100 ms. Torch, decoding, drawing and the
QImage conversion all run on workers; the UI thread only paints a ready picture, sets
labels, and redraws the plots on a ~15/s timer.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import Qt, QTimer

from app.workers import start_job
from core.train.trainer import Trainer
from tests.train.conftest import config_of, one_thread, tiny_argv, write_tiny_camvid

from .test_live_page import write_clip

PROBE_MS = 10
WARMUP_S = 0.5
RUN_S = 10.0
MAX_GAP_MS = 100.0


def test_no_ui_stall_while_live_plays_and_a_training_job_runs(window, qtbot, tmp_path):
    data = write_tiny_camvid(tmp_path / "camvid")
    config = config_of(tiny_argv(data, tmp_path / "run", epochs=50))     # longer than the probe: it is cancelled
    clip = write_clip(tmp_path / "clip.mp4", frames=12, h=360, w=480)
    window.show_page("live")
    page = window.pages["live"]
    page.realtime_check.setChecked(True)
    page.loop_check.setChecked(True)
    page.source.set_source("file", clip)

    ticks: list[float] = []
    probe = QTimer()
    probe.setTimerType(Qt.TimerType.PreciseTimer)
    probe.timeout.connect(lambda: ticks.append(time.perf_counter()))
    events: list = []
    with one_thread():
        job = start_job(lambda token: Trainer(config, cancel=token).run(), "train", window,
                        progress=events.append)
        try:
            assert page.start()
            probe.start(PROBE_MS)
            qtbot.waitUntil(lambda: page.view.frames_shown >= 2 or page.has_error, timeout=60_000)
            assert not page.has_error, page.status.text()
            start = time.perf_counter()
            page.side_button.setChecked(True)            # the full network beside: more work per frame
            qtbot.wait(int(RUN_S * 1000 / 2))
            page.side_button.setChecked(False)
            page.opacity_slider.setValue(80)
            qtbot.wait(int(RUN_S * 1000 / 2))
            probe.stop()
            shown = page.view.frames_shown
        finally:
            job.cancel()
            page.stop()
            assert job.wait(120_000)
    assert shown >= 5, "the clip played"
    assert events, "the training job ran meanwhile"
    times = np.asarray([t for t in ticks if t - ticks[0] > WARMUP_S and t >= start])
    gaps_ms = np.diff(times) * 1000.0
    worst = float(gaps_ms.max())
    print(f"UI probe: {len(times)} ticks, worst gap {worst:.0f} ms, "
          f"99th percentile {np.percentile(gaps_ms, 99):.0f} ms, {shown} frames shown, {len(events)} training events")
    assert worst <= MAX_GAP_MS, (f"the UI thread stalled {worst:.0f} ms (ticks {len(times)}, "
                                 f"gaps over 50 ms: {int((gaps_ms > 50).sum())})")

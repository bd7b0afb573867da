"""The live pipeline: LiveRunner on frames, the latest-frame reader, stream() and LiveStats.

Sources here are fakes that count what they produced, so that dropping and
ordering are checked by frame numbers, not by timings. The few time-based
checks only bound time from one side, with wide margins (a noisy 2-core machine).
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch

from core.data.classes import CLASS_SETS
from core.data.transforms import preprocess_frame
from core.errors import ConfigError, SourceError
from core.jobs import CancelToken
from core.models import FINAL_EXIT, HeadConfig, convert_backbone
from core.runtime.config import ExitConfig
from core.runtime.live import FrameResult, LiveRunner, LiveStats
from core.runtime.video.reader import LatestFrameReader, stream
from core.runtime.video.sources import FrameSource

SIZE = (48, 64)


class CountingSource(FrameSource):
    """Frames numbered by ``produced``; ``n`` frames (None = endless), ``delay`` s per read."""

    def __init__(self, live: bool, n: int | None = None, delay: float = 0.0, fps: float | None = None,
                 fail_at: int | None = None, block: threading.Event | None = None, shape=(*SIZE, 3)) -> None:
        self.name, self.kind, self.live, self.fps = "counting", "fake", live, fps
        self.frame_count = n
        self.n, self.delay, self.fail_at, self.block, self.shape = n, delay, fail_at, block, shape
        self.produced = 0
        self.rng = np.random.default_rng(0)

    def read(self) -> np.ndarray | None:
        if self.block is not None:
            self.block.wait(30)
        if self.fail_at is not None and self.produced >= self.fail_at:
            raise SourceError("counting: unplugged")
        if self.n is not None and self.produced >= self.n:
            return None
        if self.delay:
            time.sleep(self.delay)
        frame = self.rng.integers(0, 256, self.shape, dtype=np.uint8)
        self.produced += 1
        return frame


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    model = convert_backbone("mobilenet_v3_large", CLASS_SETS.get("camvid"), [HeadConfig("fcn", "64", 0)],
                             points=["features.6", "features.12"], input_size=SIZE)
    return model.eval()


@pytest.fixture(scope="module")
def exits(net) -> list[str]:
    return net.exit_ids()


def early(exits) -> ExitConfig:
    """Every frame leaves at the first exit."""
    return ExitConfig([exits[0], FINAL_EXIT], th_pix=[0.0, 0.0], th_img=[0.0, 0.0])


def late(exits) -> ExitConfig:
    """Every frame goes through to the final exit."""
    return ExitConfig([exits[0], exits[1], FINAL_EXIT], th_pix=[1.0, 1.0, 1.0], th_img=[1.0, 1.0, 1.0])


def frame(h: int = 96, w: int = 128, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


# --- LiveRunner ------------------------------------------------------------------------------

def test_full_network_by_default(net):
    runner = LiveRunner(net)
    result = runner.process(frame(), index=7, dropped=2)
    assert isinstance(result, FrameResult)
    assert result.image.shape == (*SIZE, 3) and result.image.dtype == np.uint8  # resized to the spec's size
    assert result.labels.shape == SIZE and result.labels.dtype == np.uint8
    assert (result.index, result.dropped) == (7, 2)
    assert (result.exit_id, result.exit_index, result.exit_depth) == (FINAL_EXIT, 0, 1.0)
    assert result.latency_ms > 0 and 0.0 <= result.confidence <= 1.0
    assert result.full_labels is None and result.full_latency_ms is None
    assert runner.config.exits == [FINAL_EXIT]
    # the labels are the network's own
    x = preprocess_frame(result.image, net.spec.mean, net.spec.std).unsqueeze(0)
    with torch.no_grad():
        expected = net(x, exits=[FINAL_EXIT])[FINAL_EXIT].argmax(1)[0].numpy()
    np.testing.assert_array_equal(result.labels, expected)


def test_size_override_and_frames_already_at_size(net):
    runner = LiveRunner(net, size=(32, 48))
    assert runner.process(frame()).labels.shape == (32, 48)
    image = frame(32, 48)
    assert np.array_equal(runner.process(image).image, image)


def test_exit_depths_grow_to_one(net, exits):
    depths = [LiveRunner(net).exit_depths[e] for e in exits]
    assert depths == sorted(depths) and depths[-1] == 1.0 and depths[0] > 0


def test_set_config_between_frames_changes_the_exit(net, exits):
    runner = LiveRunner(net, early(exits))
    first = runner.process(frame())
    assert (first.exit_id, first.exit_index) == (exits[0], 0)
    assert first.exit_depth < 1.0
    runner.set_config(late(exits))
    second = runner.process(frame())
    assert (second.exit_id, second.exit_index, second.exit_depth) == (FINAL_EXIT, 2, 1.0)
    runner.set_config(None)
    assert runner.process(frame()).exit_id == FINAL_EXIT and runner.config.exits == [FINAL_EXIT]


def test_a_bad_config_is_refused_in_the_caller_and_the_old_one_stays(net, exits):
    runner = LiveRunner(net, early(exits))
    with pytest.raises(ConfigError):
        runner.set_config(ExitConfig(["features.99:fcn-c64-b0", FINAL_EXIT]))
    assert runner.process(frame()).exit_id == exits[0]
    with pytest.raises(ConfigError):
        LiveRunner(net, ExitConfig(["nowhere:fcn-c64-b0", FINAL_EXIT]))


def test_set_config_from_another_thread_while_processing(net, exits):
    runner = LiveRunner(net, early(exits))
    stop = threading.Event()

    def toggle():
        configs = [late(exits), early(exits)]
        k = 0
        while not stop.is_set():
            runner.set_config(configs[k % 2])
            k += 1
            time.sleep(0.001)

    thread = threading.Thread(target=toggle)
    thread.start()
    try:
        results = [runner.process(frame(seed=i)) for i in range(12)]
    finally:
        stop.set()
        thread.join()
    for r in results:  # each frame ran one whole configuration
        assert (r.exit_id, r.exit_index) in {(exits[0], 0), (FINAL_EXIT, 2)}


def test_compare_full_runs_the_full_network_too(net, exits):
    runner = LiveRunner(net, early(exits))
    image = frame()
    runner.compare_full = True
    assert runner.compare_full
    result = runner.process(image)
    assert result.exit_id == exits[0]
    assert result.full_labels is not None and result.full_labels.shape == SIZE
    assert result.full_latency_ms > 0
    np.testing.assert_array_equal(result.full_labels, LiveRunner(net).process(image).labels)
    runner.compare_full = False
    assert runner.process(image).full_labels is None


# --- LatestFrameReader -------------------------------------------------------------------------

def test_a_slow_consumer_of_a_live_source_gets_the_newest_frame():
    source = CountingSource(live=True, delay=0.001)
    taken = dropped = 0
    with LatestFrameReader(source) as reader:
        for _ in range(15):
            time.sleep(0.02)  # the model is slower than the camera
            produced_before = source.produced
            item = reader.get(timeout=10)
            # the newest frame: at most the one being read was not in the slot yet
            assert item.index >= produced_before - 2
            taken += 1
            dropped += item.dropped
        read = reader.frames_read
    assert dropped > 0
    assert taken + dropped <= read <= taken + dropped + 1  # every frame read was taken, dropped, or is waiting
    assert reader.dropped_total >= dropped


def test_latency_stays_bounded_over_a_long_run(net):
    """The frame the model starts on is (nearly) the newest the camera gave: no backlog builds up.

    With a queue, the k-th result would be frame k and its staleness would grow by every
    frame the camera makes during a model run (hundreds here); with the latest-frame
    reader it stays at the few frames made between taking a frame and starting on it.
    """
    source = CountingSource(live=True, delay=0.002)
    runner = LiveRunner(net)
    staleness = []

    class SlowModel:
        def process(self, rgb, index=0, dropped=0):
            staleness.append(source.produced - 1 - index)
            time.sleep(0.01)
            return runner.process(rgb, index=index, dropped=dropped)

    results = list(stream(source, SlowModel(), max_frames=25))
    assert len(results) == 25
    assert sum(r.dropped for r in results) > 0
    assert max(staleness) <= 40, staleness


def test_realtime_false_hands_over_every_frame_in_order():
    source = CountingSource(live=False, n=30, fps=1000.0)
    got = []
    with LatestFrameReader(source, realtime=False) as reader:
        while (item := reader.get(timeout=10)) is not None:
            time.sleep(0.002)
            got.append(item)
    assert [g.index for g in got] == list(range(30))
    assert all(g.dropped == 0 for g in got) and reader.dropped_total == 0


def test_realtime_file_plays_at_its_rate_and_drops_for_a_slow_model():
    source = CountingSource(live=False, n=40, fps=200.0)  # 0.2 s of video
    start = time.perf_counter()
    got = []
    with LatestFrameReader(source, realtime=True) as reader:
        while (item := reader.get(timeout=10)) is not None:
            got.append(item)
            time.sleep(0.03)
    assert time.perf_counter() - start >= 39 / 200.0
    assert len(got) < 40 and sum(g.dropped for g in got) > 0
    indices = [g.index for g in got]
    assert indices == sorted(indices)


def test_realtime_pacing_with_a_fast_consumer():
    source = CountingSource(live=False, n=10, fps=50.0)
    start = time.perf_counter()
    with LatestFrameReader(source, realtime=True) as reader:
        count = 0
        while reader.get(timeout=10) is not None:
            count += 1
    assert time.perf_counter() - start >= 9 / 50.0  # not faster than the video
    assert count >= 1


def test_a_source_error_reaches_the_consumer():
    source = CountingSource(live=False, n=10, fail_at=3)
    with LatestFrameReader(source) as reader:
        got = [reader.get(timeout=10).index for _ in range(3)]  # the frames read before the error
        with pytest.raises(SourceError, match="unplugged"):
            reader.get(timeout=10)
        assert reader.get(timeout=10) is None
    assert got == [0, 1, 2]


def test_close_returns_even_when_the_source_blocks():
    unblock = threading.Event()
    source = CountingSource(live=True, block=unblock)
    reader = LatestFrameReader(source, join_timeout_s=0.2)
    with pytest.raises(TimeoutError):
        reader.get(timeout=0.05)
    start = time.perf_counter()
    reader.close()
    assert time.perf_counter() - start < 2.0
    unblock.set()  # the blocked read returns: the thread ends on its own
    reader._thread.join(5)
    assert not reader.alive


# --- stream ----------------------------------------------------------------------------------

def test_stream_every_frame_of_a_file(net):
    source = CountingSource(live=False, n=6, shape=(96, 128, 3))
    stats = LiveStats()
    results = list(stream(source, LiveRunner(net), stats=stats))
    assert [r.index for r in results] == list(range(6))
    assert all(r.dropped == 0 and r.labels.shape == SIZE for r in results)
    summary = stats.summary()
    assert summary["frames"] == 6 and summary["fps"] > 0 and summary["exit_histogram"] == {FINAL_EXIT: 6}


def test_stream_max_frames_and_set_config_while_streaming(net, exits):
    runner = LiveRunner(net, early(exits))
    seen = []
    for result in stream(CountingSource(live=False, n=50), runner, max_frames=6):
        seen.append(result.exit_id)
        if len(seen) == 3:
            runner.set_config(late(exits))
    assert seen == [exits[0]] * 3 + [FINAL_EXIT] * 3


def test_stream_ends_quietly_on_cancel(net):
    cancel = CancelToken()
    results = []
    for result in stream(CountingSource(live=True, delay=0.001), LiveRunner(net), cancel=cancel):
        results.append(result)
        if len(results) == 3:
            cancel.cancel()
    assert len(results) == 3


def test_stream_reraises_a_source_failure(net):
    results = []
    with pytest.raises(SourceError):
        for result in stream(CountingSource(live=False, n=10, fail_at=2), LiveRunner(net)):
            results.append(result)
    assert [r.index for r in results] == [0, 1]


# --- LiveStats -------------------------------------------------------------------------------

def fake_result(exit_id: str, latency: float, dropped: int = 0) -> FrameResult:
    return FrameResult(index=0, image=np.zeros((2, 2, 3), np.uint8), labels=np.zeros((2, 2), np.uint8),
                       exit_id=exit_id, exit_index=0, exit_depth=1.0, latency_ms=latency, confidence=0.5,
                       dropped=dropped)


def test_stats_summary_keys_and_values():
    stats = LiveStats(exits=["a", "b", FINAL_EXIT], window_s=2.0)
    stats.start(100.0)
    latencies = [10.0 * (k + 1) for k in range(20)]  # 10 .. 200 ms
    for k, latency in enumerate(latencies):
        stats.add(fake_result("a" if k % 4 else FINAL_EXIT, latency, dropped=1), wall_time=100.0 + 0.5 * (k + 1))
    summary = stats.summary()
    assert set(summary) >= {"frames", "fps", "median_latency_ms", "p95_latency_ms", "exit_histogram", "dropped"}
    assert summary["frames"] == 20
    assert summary["fps"] == pytest.approx(20 / 10.0)  # 20 results in 10 s from the first read
    assert summary["median_latency_ms"] == pytest.approx(105.0)
    assert summary["p95_latency_ms"] == pytest.approx(float(np.percentile(latencies, 95)))
    assert summary["exit_histogram"] == {"a": 15, "b": 0, FINAL_EXIT: 5}  # kept exits listed, even unused
    assert summary["dropped"] == 20
    assert stats.rolling_fps == pytest.approx(2.0)  # 5 results 0.5 s apart in the last 2 s
    assert stats.recent_latencies(3) == latencies[-3:]


def test_stats_of_nothing():
    summary = LiveStats().summary()
    assert summary["frames"] == 0 and summary["fps"] == 0.0 and summary["exit_histogram"] == {}
    assert LiveStats().rolling_fps == 0.0

"""A deadline scales the latency table's costs by how much slower than predicted recent frames ran."""

from __future__ import annotations

import types

import pytest
import torch

from core.models import FINAL_EXIT
from core.profile.costs import CostTable, PieceCost
from core.runtime import early_exit
from core.runtime.config import ExitConfig
from core.runtime.deadline_scale import MIN_FRAMES, SCALE_RANGE, DeadlineScale
from core.runtime.early_exit import EarlyExitRunner


def test_the_table_is_taken_as_it_is_until_enough_frames_are_known():
    scale = DeadlineScale()
    for _ in range(MIN_FRAMES - 1):
        scale.record(predicted_ms=10.0, measured_ms=20.0)
    assert scale.factor() == 1.0
    scale.record(predicted_ms=10.0, measured_ms=20.0)
    assert scale.factor() == pytest.approx(2.0)


def test_the_factor_is_the_slow_end_of_recent_ratios_within_its_range():
    scale = DeadlineScale(window=10)
    for ratio in [1.0] * 9 + [3.0]:
        scale.record(predicted_ms=10.0, measured_ms=10.0 * ratio)
    assert 1.0 < scale.factor() < 3.0                    # the 90th percentile, between the two
    for _ in range(10):
        scale.record(predicted_ms=1.0, measured_ms=1000.0)
    assert scale.factor() == SCALE_RANGE[1]
    for _ in range(10):
        scale.record(predicted_ms=10.0, measured_ms=0.1)
    assert scale.factor() == SCALE_RANGE[0]


def table_of(net, segment_ms: float) -> CostTable:
    return CostTable(input_size=tuple(net.spec.input_size), device="cpu",
                     segments=[PieceCost(1.0, latency_ms=segment_ms) for _ in net.segments],
                     heads={e: PieceCost(0.1, latency_ms=0.001) for e in net.exit_ids()}, exit_ids=list(net.exit_ids()))


def test_frames_slower_than_the_table_make_later_frames_leave_earlier(net, monkeypatch):
    """The table says going on to the final exit costs 400 ms of a 1000 ms deadline; every frame takes 100 s."""
    import threading
    import time

    ticks = iter(range(10_000))
    this_thread = threading.get_ident()

    def clock() -> float:
        """100 s a call on this test's thread; a runner another test left running elsewhere (an abandoned
        player thread) reads the real clock and takes no tick (it made the test flaky under load)."""
        return next(ticks) * 100.0 if threading.get_ident() == this_thread else time.perf_counter()

    monkeypatch.setattr(early_exit, "time", types.SimpleNamespace(perf_counter=clock))
    first = net.exit_ids()[0]
    after_first = len(net.segments) - 1 - net.exit_segment(first)
    runner = EarlyExitRunner(net, ExitConfig.deadline([first, FINAL_EXIT], 1000.0),
                             costs=table_of(net, 400.0 / after_first))
    image = torch.rand(1, 3, *net.spec.input_size)
    taken = [runner.run(image).exit_ids[0] for _ in range(MIN_FRAMES + 2)]
    assert taken[:MIN_FRAMES] == [FINAL_EXIT] * MIN_FRAMES
    assert taken[MIN_FRAMES:] == [first, first]          # 400 ms x 5 no longer fits
    assert runner.deadline_scale.factor() == SCALE_RANGE[1]

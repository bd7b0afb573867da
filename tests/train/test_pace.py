"""core.train.pace: the stage's time left from this session's timed steps; an epoch's step losses for metrics.jsonl."""

from __future__ import annotations

import pytest

from core.train.pace import StagePace, loss_points


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_start_up_is_not_counted_and_there_is_no_estimate_until_steps_are_timed():
    clock = FakeClock()
    pace = StagePace(clock, min_steps=3)
    clock.now = 100.0                  # loader start-up, first batch, warm-up: 100 s before the first step ends
    pace.epoch_started()
    pace.step_done()
    assert pace.seconds_left(99) is None, "one step says nothing about the pace"
    for _ in range(3):
        clock.now += 2.0
        pace.step_done()
    assert pace.seconds_per_step == pytest.approx(2.0)
    assert pace.seconds_left(96) == pytest.approx(192.0)       # not 96 * (106 / 4) as from the start


def test_the_time_between_epochs_is_not_a_step_and_validations_are_added_once_measured():
    clock = FakeClock()
    pace = StagePace(clock, min_steps=2)
    pace.epoch_started()
    for _ in range(3):
        clock.now += 1.0
        pace.step_done()
    clock.now += 50.0                  # checkpoint and validation of epoch 1
    pace.validated(40.0)
    pace.epoch_started()
    clock.now += 30.0                  # the next epoch's first step: the loader starts again
    pace.step_done()
    clock.now += 1.0
    pace.step_done()
    assert pace.seconds_per_step == pytest.approx(1.0)
    assert pace.seconds_left(10, validations_left=2) == pytest.approx(10 + 80)


def test_loss_points_keep_every_step_or_means_of_consecutive_steps():
    assert loss_points([1.0, 2.0, 3.0]) == ([1.0, 2.0, 3.0], 1)
    points, every = loss_points([1.0, 3.0, 5.0, 7.0, 9.0], limit=2)
    assert every == 3 and points == pytest.approx([3.0, 8.0])
    assert loss_points([]) == ([], 1)

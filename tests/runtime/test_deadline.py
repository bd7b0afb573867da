"""Deadline mode: the deepest kept exit that can finish in time answers; decided before each step."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.errors import ConfigError
from core.runtime.config import ExitConfig
from core.runtime.host import Step, run_deadline


class CountingPieces:
    """Pieces that record what ran; labels are the exit's number."""

    def __init__(self) -> None:
        self.ran: list[str] = []

    def start(self, images):
        return {"done": -1}

    def advance(self, state, stop):
        self.ran += [f"segment {i}" for i in range(state["done"] + 1, stop + 1)]
        state["done"] = stop
        return state

    def head(self, state, exit_id):
        self.ran.append(exit_id)
        return exit_id, np.zeros((1, 2, 2, 2), np.float32)

    def labels(self, handle, exit_id, rows):
        assert handle == exit_id
        return np.full((1, 2, 2), int(exit_id[1:]), np.int64)

    def keep(self, state, rows):
        return state


STEPS = [Step("e0", 0, 4, 0.9, 0.9), Step("e1", 2, 8, 0.9, 0.9), Step("e2", 4, 16, 0.9, 0.9)]
STEP_MS = [4.0, 5.0, 6.0]


def clock_of(times_ms):
    """A clock that returns the given times (ms), then the last one forever."""
    values = iter(times_ms)
    last = [0.0]

    def clock():
        last[0] = next(values, last[0])
        return last[0] / 1000.0
    return clock


@pytest.mark.parametrize("deadline,expected", [(3.0, 0), (9.9, 0), (10.0, 1), (15.9, 1), (16.0, 2), (100.0, 2)])
def test_the_deepest_exit_that_fits_by_the_table_answers(deadline, expected):
    pieces = CountingPieces()
    # The clock follows the table exactly: start 0, after e0 4 ms, after e1 9 ms.
    out = run_deadline(pieces, STEPS, None, 1, step_ms=STEP_MS, output_ms=1.0, deadline_ms=deadline,
                       clock=clock_of([0.0, 4.0, 9.0]))
    assert out.exit_index == [expected]
    assert int(out.parts[0][1][0, 0, 0]) == expected
    assert pieces.ran[-1] == f"e{expected}"              # nothing ran after the exit that answers


def test_a_slow_frame_stops_earlier_than_the_table_says():
    pieces = CountingPieces()
    out = run_deadline(pieces, STEPS, None, 1, step_ms=STEP_MS, output_ms=1.0, deadline_ms=16.0,
                       clock=clock_of([0.0, 12.0]))      # e0 took 12 ms, not 4
    assert out.exit_index == [0] and pieces.ran == ["segment 0", "e0"]


def test_the_first_exit_always_answers_even_past_the_deadline():
    out = run_deadline(CountingPieces(), STEPS, None, 2, step_ms=STEP_MS, output_ms=1.0, deadline_ms=0.5,
                       clock=clock_of([0.0, 4.0]))
    assert out.exit_index == [0, 0] and out.parts[0][0].tolist() == [0, 1]


def test_a_deadline_configuration_round_trips_and_is_checked():
    config = ExitConfig.deadline(["features.3:fcn-c64-b0", "final"], 15)
    data = json.loads(json.dumps(config.to_json()))
    assert data["mode"] == "deadline" and data["deadline_ms"] == 15.0
    assert ExitConfig.from_json(data) == config
    for bad in (0, -3, "soon", None):
        with pytest.raises(ConfigError, match="needs deadline_ms"):
            ExitConfig(["final"], mode="deadline", deadline_ms=bad)
    with pytest.raises(ConfigError, match="deadline_ms is for mode 'deadline'"):
        ExitConfig(["final"], mode="static", deadline_ms=10)

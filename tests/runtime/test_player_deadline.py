"""Deadline mode in the live player: the exits a latency table lets each frame reach, the deadline's tally on
every frame, and a table measured on the player's thread (with progress) when none was given."""

from __future__ import annotations

import threading

import pytest

from core.errors import ConfigError
from core.models import FINAL_EXIT
from core.profile.cache import COST_CACHE, cost_key
from core.profile.costs import CostTable, PieceCost
from core.runtime.config import ExitConfig
from core.runtime.video.deadline_costs import measure_deadline_costs, measuring_line
from core.runtime.video.player import Ended, Frame, LivePlayer, Message
from tests.runtime.playing import Played

pytestmark = pytest.mark.usefixtures("single_thread")
SHA = "d" * 64          # the weights' SHA-256 the measured table is kept under (a test's own)


def planted_table(net, segment_ms: float) -> CostTable:
    """A latency table whose every segment costs ``segment_ms`` (heads next to nothing)."""
    return CostTable(input_size=tuple(net.spec.input_size), device="cpu",
                     segments=[PieceCost(1.0, latency_ms=segment_ms) for _ in net.segments],
                     heads={e: PieceCost(0.1, latency_ms=0.001) for e in net.exit_ids()}, exit_ids=list(net.exit_ids()))


def frames_of(played: Played) -> list:
    played.next(Ended)
    return [e.frame for e in played.finish() if isinstance(e, Frame)]


@pytest.fixture
def forget_measured(net):
    yield
    COST_CACHE.discard(cost_key(net, SHA, tuple(net.spec.input_size), device="cpu"))


@pytest.mark.parametrize("segment_ms,taken", [(0.001, FINAL_EXIT), (10_000.0, "first")], ids=["fits", "too slow"])
def test_each_frame_answers_at_the_deepest_exit_the_table_lets_it_reach(net, clip, segment_ms, taken):
    config = ExitConfig.deadline([net.exit_ids()[0], FINAL_EXIT], 500)
    player = LivePlayer(net, str(clip), config=config, loop=False, realtime=False,
                        costs=planted_table(net, segment_ms))
    frames = frames_of(Played(player))
    expected = net.exit_ids()[0] if taken == "first" else FINAL_EXIT
    assert len(frames) == 5 and {f.result.exit_id for f in frames} == {expected}
    assert all(f.result.config == config for f in frames), "each result says the configuration that ran it"
    assert not any(isinstance(e, Message) and "Measuring" in e.text for e in player.take_events())
    last = frames[-1].deadline
    assert last.deadline_ms == 500 and last.frames == 5 and last.overruns == 0
    assert last.mean_depth == pytest.approx(frames[-1].result.exit_depth)
    assert [f.deadline.frames for f in frames] == [1, 2, 3, 4, 5]


def test_without_a_table_the_player_measures_one_with_progress_and_keeps_it(net, clip, forget_measured):
    config = ExitConfig.deadline([net.exit_ids()[0], FINAL_EXIT], 1000)
    played = Played(LivePlayer(net, str(clip), config=config, loop=False, realtime=False, weights_sha256=SHA))
    frames = frames_of(played)
    said = [e.text for e in played.seen if isinstance(e, Message)]
    assert said[1] == measuring_line("torch", "fp32", tuple(net.spec.input_size))
    assert any(" pieces..." in line for line in said), "the pieces measured so far"
    assert "the deadline decides from it" in said[-1]
    assert len(frames) == 5 and {f.result.exit_id for f in frames} == {FINAL_EXIT}, "1 s: time for everything"
    assert all(f.deadline is not None and f.share.basis == "latency table" for f in frames)
    kept = COST_CACHE.get(cost_key(net, SHA, tuple(net.spec.input_size), device="cpu"))
    assert kept is not None and kept.weights_sha256 == SHA, "the Model page finds it measured"


def test_a_deadline_set_while_playing_waits_for_its_table_then_runs(net, clip, forget_measured):
    first = net.exit_ids()[0]
    player = LivePlayer(net, str(clip), config=ExitConfig([first, FINAL_EXIT], th_pix=[1.0, 1.0], th_img=[1.0, 1.0]),
                        loop=True, realtime=False, weights_sha256=SHA)
    played = Played(player)
    before = played.next(Frame).frame
    assert before.deadline is None
    with pytest.raises(ConfigError, match="does not have"):
        player.set_config(ExitConfig.deadline(["features.99:nothing", FINAL_EXIT], 20))
    player.set_config(ExitConfig.deadline([first, FINAL_EXIT], 1000))      # no table: no error here
    measuring = played.next(Message)
    assert measuring.text.startswith("Measuring the latency table the deadline decides from")
    while (frame := played.next(Frame).frame).deadline is None:
        pass
    assert frame.deadline.deadline_ms == 1000 and frame.result.exit_id == FINAL_EXIT
    player.set_config(ExitConfig.deadline([first, FINAL_EXIT], 2))          # the table is there now: at once
    while (frame := played.next(Frame).frame).deadline.deadline_ms != 2:
        pass
    assert frame.deadline.frames == 1, "a new deadline counts from zero"
    player.reset_histogram()
    while (frame := played.next(Frame).frame).deadline.frames > 1:
        pass
    player.set_config(None)
    while (frame := played.next(Frame).frame).deadline is not None:
        pass
    played.finish()
    assert sum(isinstance(e, Message) and e.text.startswith("Measuring the latency table the deadline decides from ")
               and "pieces" not in e.text for e in played.seen) == 1, "measured once"


def test_measuring_stops_when_the_player_is_stopped(net):
    stop = threading.Event()
    stop.set()
    lines = measure_deadline_costs(net, weights_sha256=None, backend="torch", precision="fp32", stop=stop)
    assert next(lines).startswith("Measuring")
    with pytest.raises(StopIteration) as done:
        while True:
            next(lines)
    assert done.value.value is None


def test_a_model_without_a_fixed_input_size_cannot_measure_a_deadline_table(net, monkeypatch):
    monkeypatch.setattr(net.spec, "input_size", None)
    lines = measure_deadline_costs(net, weights_sha256=None, backend="torch", precision="fp32",
                                   stop=threading.Event())
    with pytest.raises(ConfigError, match="no fixed input size"):
        next(lines)

"""Anytime mode in the live player: each frame's earlier exits are handed over first, marked refining and
not counted, then the last kept exit's answer as the frame."""

from __future__ import annotations

import pytest

from core.models import FINAL_EXIT
from core.runtime.config import ExitConfig
from core.runtime.video.player import Ended, Frame, LivePlayer
from tests.runtime.playing import Played

pytestmark = pytest.mark.usefixtures("single_thread")


def early_config(net) -> ExitConfig:
    return ExitConfig([net.exit_ids()[0], FINAL_EXIT], th_pix=[0.0, 0.0], th_img=[0.0, 0.0])  # would leave early


def frames_of(played: Played) -> list:
    played.next(Ended)
    return [e.frame for e in played.finish() if isinstance(e, Frame)]


def test_each_frame_refines_from_the_early_exit_to_the_final_one(net, clip):
    config = early_config(net)
    played = Played(LivePlayer(net, str(clip), config=config, loop=False, realtime=False, anytime=True))
    frames = frames_of(played)
    assert len(frames) == 10
    for first, second in zip(frames[::2], frames[1::2]):
        assert first.refining and first.result.exit_id == config.exits[0] and first.picture is not None
        assert not second.refining and second.result.exit_id == FINAL_EXIT
        assert first.result.index == second.result.index
        assert [r.exit_id for r in second.result.refinements] == list(config.exits)
        assert second.processed == first.processed + 1                  # the refinement is not counted
    assert played.player.summary()["frames"] == 5
    assert played.player.summary()["exit_histogram"] == {config.exits[0]: 0, FINAL_EXIT: 5}


def test_without_anytime_the_frame_leaves_early_and_nothing_refines(net, clip):
    config = early_config(net)
    player = LivePlayer(net, str(clip), config=config, loop=False, realtime=False)
    assert not player.anytime
    frames = frames_of(Played(player))
    assert len(frames) == 5 and not any(f.refining for f in frames)
    assert {f.result.exit_id for f in frames} == {config.exits[0]}


def test_side_by_side_plays_early_exit_even_in_anytime_mode(net, clip):
    player = LivePlayer(net, str(clip), config=early_config(net), loop=False, realtime=False, compare_full=True)
    player.set_anytime(True)
    frames = frames_of(Played(player))
    assert len(frames) == 5 and not any(f.refining for f in frames)

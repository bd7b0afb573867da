"""The live player claims its share of the cores while it plays and follows it between frames."""

from __future__ import annotations

import time

import pytest

from core.runtime.video.player import Frame, LivePlayer, Message, Opened
from core.threads import CoreShare
from tests.runtime.playing import Played

pytestmark = pytest.mark.usefixtures("single_thread")

WAIT_S = 60


def _wait_for(condition, played: Played, timeout: float = WAIT_S) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, f"timed out; events: {played.seen[-5:]}"
        played.next(Frame)


@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
def test_the_player_takes_half_the_cores_while_a_training_job_runs_and_all_again_after(net, clip, backend):
    share = CoreShare(limit=2)
    player = LivePlayer(net, str(clip), config=None, realtime=False, loop=True, draw=False, backend=backend,
                        cores=share)
    played = Played(player)
    try:
        played.next(Opened)
        assert share.jobs() == ("live",)
        assert player.threads == 2
        pieces = player.runner.pieces
        training = share.claim("train")
        _wait_for(lambda: player.threads == 1, played)
        if backend != "torch":                     # graph pieces are rebuilt for the new thread count
            message = played.next(Message)
            assert "Using 1 thread" in message.text and "train" in message.text
            played.next(Frame)
            assert player.runner.pieces is not pieces
        training.release()
        _wait_for(lambda: player.threads == 2, played)
    finally:
        player.stop()
        played.thread.join(WAIT_S)
    assert share.jobs() == ()                      # released when playing ended


def test_a_player_given_its_runner_claims_nothing(net, clip):
    from core.runtime.live import LiveRunner

    share = CoreShare(limit=2)
    player = LivePlayer(net, str(clip), realtime=False, loop=False, draw=False, runner=LiveRunner(net),
                        cores=share)
    played = Played(player)
    played.next(Opened)
    assert share.jobs() == () and player.threads is None
    player.stop()
    played.thread.join(WAIT_S)

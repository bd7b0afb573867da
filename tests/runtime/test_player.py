"""The Qt-free live player: events of playing, pause and step, loop, recording and source errors."""

from __future__ import annotations

import numpy as np
import pytest

from core.models import FINAL_EXIT
from core.runtime.config import ExitConfig
from core.runtime.video.player import (Ended, Failed, Frame, LivePlayer, Message, Opened, RecordingFailed,
                                 RecordingSaved, RecordingStarted)
from tests.runtime.playing import Played

pytestmark = pytest.mark.usefixtures("single_thread")

WAIT_S = 60


def test_a_file_plays_every_frame_then_ends(net, clip):
    played = Played(LivePlayer(net, str(clip), loop=False, realtime=False))
    assert isinstance(played.next(Opened).info.frame_count, int)
    frames = [played.next(Frame).frame for _ in range(5)]
    assert [f.result.index for f in frames] == [0, 1, 2, 3, 4]
    assert frames[-1].processed == 5 and frames[0].picture.dtype == np.uint8 and frames[0].picture.ndim == 3
    assert "end of the video" in played.next(Ended).text
    events = played.finish()
    assert isinstance(events[0], Message) and not any(isinstance(e, Failed) for e in events)
    assert played.player.summary()["frames"] == 5


def test_loop_starts_the_file_again(net, clip):
    played = Played(LivePlayer(net, str(clip), loop=True, realtime=False))
    indices = [played.next(Frame).frame.result.index for _ in range(8)]
    assert indices == [0, 1, 2, 3, 4, 0, 1, 2]
    assert not any(isinstance(e, Ended) for e in played.finish())


def test_paused_it_waits_and_each_step_is_one_frame(net, clip):
    player = LivePlayer(net, str(clip), loop=False, realtime=True, paused=True)
    played = Played(player)
    played.next(Opened)
    assert not [e for e in played.quiet_for(0.6) if isinstance(e, Frame)]
    player.step()
    assert played.next(Frame).frame.result.index == 0
    player.step()
    assert played.next(Frame).frame.result.index == 1
    assert not [e for e in played.quiet_for(0.4) if isinstance(e, Frame)]
    player.set_config(ExitConfig(["features.6:fcn-c64-b0", FINAL_EXIT], th_pix=[0.0, 0.0], th_img=[0.0, 0.0]))
    again = played.next(Frame).frame                    # the paused frame, run again with the new thresholds
    assert again.refreshed and again.result.index == 1 and again.result.exit_id == "features.6:fcn-c64-b0"
    player.set_paused(False)
    assert [played.next(Frame).frame.result.index for _ in range(3)] == [2, 3, 4]
    played.finish()


def test_a_recording_keeps_what_was_played(net, clip, tmp_path):
    player = LivePlayer(net, str(clip), loop=False, realtime=False)
    out = tmp_path / "rec.mp4"
    player.start_recording(out)
    played = Played(player)
    assert played.next(RecordingStarted).path == str(out)
    played.next(Ended)
    saved = played.next(RecordingSaved)
    assert saved.path == str(out) and saved.frames == 5 and out.stat().st_size > 0
    played.finish()


def test_a_recording_that_cannot_be_written_says_so_and_playing_goes_on(net, clip, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")
    player = LivePlayer(net, str(clip), loop=False, realtime=False)
    player.start_recording(blocker / "rec.mp4")
    played = Played(player)
    assert str(blocker) in played.next(RecordingFailed).text
    played.next(Ended)
    assert sum(isinstance(e, Frame) for e in played.finish()) == 5


def test_a_source_that_cannot_be_opened_is_one_failed_event(net, tmp_path):
    played = Played(LivePlayer(net, str(tmp_path / "absent.mp4")))
    failed = played.next(Failed)
    assert "absent.mp4" in failed.text and len(failed.text.splitlines()) == 1
    assert played.player.error == failed.text
    assert not any(isinstance(e, (Opened, Frame)) for e in played.finish())


def test_controls_are_one_immutable_value_and_the_runner_changes_on_the_players_thread(net, clip, monkeypatch):
    """A control call replaces the PlayerControls value; the loop takes it once per frame and switches
    the runner there: set_config and set_compare_full changed the runner from the caller's thread while
    the player's thread could be running a frame with it."""
    import dataclasses
    import threading

    from core.runtime.live import LiveRunner
    from core.runtime.video.player import PlayerControls

    switched: list[tuple[str, int]] = []
    real_set_config = LiveRunner.set_config

    def recording_set_config(self, config, prepare=True):
        switched.append(("config", threading.get_ident()))
        real_set_config(self, config, prepare=prepare)

    monkeypatch.setattr(LiveRunner, "set_config", recording_set_config)
    player = LivePlayer(net, str(clip), loop=True, realtime=False, paused=True)
    before = player.controls
    with pytest.raises(dataclasses.FrozenInstanceError):
        before.opacity = 0.1
    played = Played(player)
    played.next(Opened)
    player.step()
    played.next(Frame)
    early = ExitConfig(["features.6:fcn-c64-b0", FINAL_EXIT], th_pix=[0.0, 0.0], th_img=[0.0, 0.0])
    player.set_config(early)
    player.set_opacity(0.25)
    now = player.controls
    assert isinstance(now, PlayerControls) and now is not before and before.config is None and before.opacity == 0.5
    assert now.config is early and now.opacity == 0.25 and now.paused
    again = played.next(Frame).frame
    assert again.refreshed and again.result.exit_id == "features.6:fcn-c64-b0"
    assert switched and all(ident == played.thread.ident for _, ident in switched), "switched on the player's thread"
    played.finish()


def test_a_configuration_that_does_not_fit_the_model_is_refused_in_the_caller(net, clip):
    from core.errors import ConfigError

    player = LivePlayer(net, str(clip), loop=False, realtime=False)
    with pytest.raises(ConfigError):
        player.set_config(ExitConfig(["features.99:fcn-c64-b0", FINAL_EXIT], th_pix=[0.5, 0.5], th_img=[0.5, 0.5]))
    assert player.controls.config is None

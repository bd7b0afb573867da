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

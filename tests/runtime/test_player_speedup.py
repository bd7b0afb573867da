"""Side by side: the speed-up shown is measured, the full network and the configuration on the same frames."""

from __future__ import annotations

import numpy as np
import pytest

from core.models import FINAL_EXIT
from core.runtime.config import ExitConfig
from core.runtime.video.live_readout import frame_readouts
from core.runtime.video.player import Ended, Frame, LivePlayer
from tests.runtime.playing import Played

pytestmark = pytest.mark.usefixtures("single_thread")


def test_side_by_side_frames_carry_the_measured_speed_up_of_the_latest_frames(net, clip):
    config = ExitConfig([net.exit_ids()[0], FINAL_EXIT], th_pix=[0.0, 0.0], th_img=[0.0, 0.0])
    player = LivePlayer(net, str(clip), config=config, loop=False, realtime=False, compare_full=True)
    played = Played(player)
    played.next(Ended)
    frames = [e.frame for e in played.finish() if isinstance(e, Frame)]
    assert len(frames) == 5 and [f.measured_speedup is not None for f in frames] == [False] * 4 + [True]
    history = player.history()
    expected = np.median([h[3] for h in history]) / np.median([h[1] for h in history])
    assert frames[-1].measured_speedup == pytest.approx(expected)
    detail = frame_readouts(frames[-1]).details["latency"]
    assert detail.startswith("full network") and f"x{expected:.2f} measured" in detail


def test_without_side_by_side_no_speed_up_is_claimed(net, clip):
    played = Played(LivePlayer(net, str(clip), loop=False, realtime=False))
    played.next(Ended)
    frames = [e.frame for e in played.finish() if isinstance(e, Frame)]
    assert frames and all(f.measured_speedup is None for f in frames)
    assert "measured" not in frame_readouts(frames[-1]).details["latency"]

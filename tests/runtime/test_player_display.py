"""What the live player draws and says about each frame: the overlay style, the exit's share of the network,
frames and dropped frames counted per pass through a looped file."""

from __future__ import annotations

import time

import pytest

from core.models import FINAL_EXIT
from core.runtime.config import ExitConfig
from core.runtime.live import LiveRunner
from core.runtime.video.player import Frame, LivePlayer
from tests.data.builders import flat_frames, write_video
from tests.runtime.conftest import SIZE
from tests.runtime.playing import Played

pytestmark = pytest.mark.usefixtures("single_thread")


class SlowRunner:
    """A LiveRunner that takes ``seconds`` a frame (a model slower than the video: real time drops frames)."""

    def __init__(self, runner, seconds: float) -> None:
        self._runner, self.seconds = runner, seconds

    def __getattr__(self, name):
        return getattr(self._runner, name)

    def process(self, *args, **kwargs):
        time.sleep(self.seconds)
        return self._runner.process(*args, **kwargs)


def test_a_looped_file_counts_frames_and_dropped_frames_per_pass(net, tmp_path):
    path = tmp_path / "long.mp4"
    write_video(path, flat_frames(20, SIZE, step=10), fps=25.0)
    runner = SlowRunner(LiveRunner(net), 0.12)
    played = Played(LivePlayer(net, str(path), loop=True, realtime=True, runner=runner))
    frames = []
    while not any(f.loop_pass == 3 for f in frames):
        frames.append(played.next(Frame).frame)
    played.finish()
    first = [f for f in frames if f.loop_pass == 1]
    second = [f for f in frames if f.loop_pass == 2]
    assert first and second and first[-1].dropped_total > 0, "the slow model dropped frames in real time"
    assert all(f.dropped_in_pass == f.dropped_total for f in first)
    base = first[-1].dropped_total
    assert all(f.dropped_in_pass == f.dropped_total - base for f in second), "a new pass counts from zero"
    assert second[0].dropped_in_pass <= second[0].result.index, "as the frame number does"


def test_the_overlay_style_and_the_share_of_each_exit(net, clip):
    early = ExitConfig(["features.6:fcn-c64-b0", FINAL_EXIT], th_pix=[0.0, 0.0], th_img=[0.0, 0.0])
    player = LivePlayer(net, str(clip), config=early, loop=False, realtime=False, overlay="outline", box=(64, 48))
    played = Played(player)
    frame = played.next(Frame).frame
    assert frame.result.exit_id == "features.6:fcn-c64-b0"
    assert frame.share is not None and frame.share.basis == "FLOPs" and 0 < frame.share.share < 1
    assert frame.share.speedup == pytest.approx(1 / frame.share.share)
    player.set_overlay("high-contrast")
    with pytest.raises(ValueError):
        player.set_overlay("neon")
    played.finish()
    with pytest.raises(ValueError):
        LivePlayer(net, str(clip), overlay="neon")

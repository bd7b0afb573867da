"""The Live page's state without Qt (core.runtime.video.live_controls), its readouts and the exit in plain words."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from core.models.spec import FINAL_EXIT
from core.profile.costs import CostTable, PieceCost
from core.runtime.config import ExitConfig
from core.runtime.video.exit_words import ExitShare, basis_note, exit_share, exit_words
from core.runtime.live import FrameResult
from core.runtime.video.live_controls import NO_EXIT_FRAMES, TH_STEP, LiveControls, NoEarlyExitWatch
from core.runtime.video.live_readout import TOOLTIPS, frame_readouts

FIRST = "features.3:fcn-c64-b0"


def two_exits(th: float = 0.9) -> ExitConfig:
    return ExitConfig([FIRST, FINAL_EXIT], th_pix=[th, th], th_img=[th, th])


def test_a_configuration_with_thresholds_set_over_it():
    controls = LiveControls()
    assert controls.run_config is None and not controls.has_thresholds
    assert not controls.set_thresholds(0.5, 0.5), "the full network has none"
    controls.apply_config(two_exits(0.9))
    assert controls.thresholds == (0.9, 0.9) and controls.run_config == two_exits(0.9)
    assert controls.set_thresholds(0.2, 0.4) and not controls.set_thresholds(0.2, 0.4)
    assert controls.run_config.th_pix == [0.2, 0.2] and controls.run_config.th_img == [0.4, 0.4]
    assert controls.base_config.th_pix == [0.9, 0.9], "the applied configuration is left alone"
    controls.apply_config(two_exits(0.7))
    assert controls.thresholds == (0.7, 0.7), "a new configuration brings its own thresholds"
    controls.apply_config(ExitConfig.static(FIRST))
    assert controls.thresholds is None and controls.run_config.exits == [FIRST]


def test_the_full_network_toggle_and_a_configuration_applied_meanwhile():
    controls = LiveControls(two_exits())
    assert controls.toggle_full_network() and controls.run_config is None and not controls.has_thresholds
    view = controls.config_view({FIRST: 0.3, FINAL_EXIT: 1.0})
    assert "Full network toggle" in view.caption and not view.thresholds_enabled
    assert not controls.nudge("th_img", -1), "no threshold keys on the full network"
    controls.apply_config(two_exits(0.5))
    assert not controls.full_network and controls.run_config == two_exits(0.5)
    view = controls.config_view({FIRST: 0.3, FINAL_EXIT: 1.0})
    assert view.exits == (("features.3", 0.3), ("final", 1.0)) and view.caption == "(dynamic)"
    assert view.thresholds_enabled and "every kept exit" in view.note
    assert "no configuration applied" in LiveControls().config_view({}).caption


def test_threshold_keys_step_and_stay_within_zero_and_one():
    controls = LiveControls(two_exits(0.9))
    assert controls.nudge("th_img", -1) and controls.thresholds == (0.9, round(0.9 - TH_STEP, 2))
    assert controls.thresholds_text() == "th_img 0.85 · th_pix 0.90"
    for _ in range(5):
        controls.nudge("th_img", +1)
    assert controls.thresholds[1] == 1.0 and not controls.nudge("th_img", +1)
    assert controls.nudge("th_pix", -2) and controls.thresholds[0] == 0.8
    assert not controls.nudge("th_nothing", 1)
    controls.toggle_full_network()
    assert "no thresholds" in controls.thresholds_text()


def test_toggles_opacity_overlay_and_what_persists():
    controls = LiveControls(opacity=250, overlay="plain")
    assert controls.opacity == 100 and controls.set_opacity(30) and not controls.set_opacity(30)
    assert controls.toggle_side_by_side() and controls.side_by_side and controls.toggle_side_by_side()
    assert controls.set_overlay("high-contrast") and not controls.set_overlay("high-contrast")
    with pytest.raises(ValueError):
        controls.set_overlay("neon")
    assert controls.set_presenting(True) and controls.presenting and not controls.set_presenting(True)
    assert controls.toggle_anytime() and controls.anytime and not controls.set_anytime(True)
    assert controls.settings() == {"opacity": 30, "overlay": "high-contrast", "loop": True, "realtime": True,
                                   "anytime": True, "deadline": False, "deadline_ms": 20.0}
    assert LiveControls().overlay == "outline", "outlines by default: dark classes stay visible"


def test_a_configuration_that_never_fires_gets_a_hint_after_enough_frames():
    controls = LiveControls(two_exits(0.9))
    exits = (FIRST, FINAL_EXIT)
    for _ in range(NO_EXIT_FRAMES - 1):
        controls.watch.frame(exits, FINAL_EXIT)
    assert controls.no_exit_hint() == ""
    controls.watch.frame(exits, FINAL_EXIT, refreshed=True)
    assert controls.no_exit_hint() == "", "a paused frame drawn again is not a new frame"
    controls.watch.frame(exits, FINAL_EXIT)
    hint = controls.no_exit_hint()
    assert "No frame left early" in hint and "lower th_img (now 0.90" in hint and "calibrate on this footage" in hint
    controls.watch.frame(exits, FIRST)
    assert controls.no_exit_hint() == "", "one early frame and it fires"
    for _ in range(NO_EXIT_FRAMES):
        controls.watch.frame(exits, FINAL_EXIT)
    assert controls.no_exit_hint()
    controls.nudge("th_img", -1)
    assert controls.no_exit_hint() == "", "new thresholds: counting starts again"


def test_the_full_network_never_gets_the_hint():
    watch = NoEarlyExitWatch(frames=3)
    for _ in range(10):
        watch.frame((FINAL_EXIT,), FINAL_EXIT)
    assert watch.firing and watch.hint(None) == ""
    controls = LiveControls(two_exits())
    for _ in range(NO_EXIT_FRAMES):
        controls.watch.frame((FIRST, FINAL_EXIT), FINAL_EXIT)
    controls.toggle_full_network()
    assert controls.no_exit_hint() == ""


def test_exit_words_for_an_audience():
    share = ExitShare(share=0.43, speedup=1 / 0.43, basis="FLOPs")
    assert exit_words(0, 2, share) == "exit 1 of 2 · 43 % of the network · 2.3x faster"
    assert exit_words(0, 2) == "exit 1 of 2"
    assert exit_words(0, 1, ExitShare(1.0, 1.0, "FLOPs")) == "exit 1 of 1 · the whole network"
    assert exit_words(1, 2, ExitShare(1.1, 1 / 1.1, "latency table")) == \
        "exit 2 of 2 · 110 % of the network · 1.1x slower"
    assert exit_words(1, 3, ExitShare(0.98, 1 / 0.98, "FLOPs")).endswith("98 % of the network · as fast")
    assert "FLOPs" in basis_note(share) and "latency table" in basis_note(ExitShare(1, 1, "latency table"))


class FakeNet:
    segments = [None] * 4

    def exit_segment(self, exit_id: str) -> int:
        return 3 if exit_id == FINAL_EXIT else 1


def table(latency: bool) -> CostTable:
    def piece(g):
        return PieceCost(g, latency_ms=2 * g if latency else None)
    return CostTable((8, 8), "cpu", [piece(1.0)] * 4, {FIRST: piece(0.5), FINAL_EXIT: piece(1.0)},
                     exit_ids=[FIRST, FINAL_EXIT], output_ms=1.0 if latency else 0.0)


def test_exit_share_from_a_latency_table_or_from_flops():
    flops = exit_share(FakeNet(), table(latency=False), [FIRST, FINAL_EXIT], 0)
    assert flops.basis == "FLOPs" and flops.share == pytest.approx(2.5 / 5.0) and flops.speedup == pytest.approx(2)
    timed = exit_share(FakeNet(), table(latency=True), [FIRST, FINAL_EXIT], 0)
    assert timed.basis == "latency table" and timed.share == pytest.approx((5 + 1) / (10 + 1))
    last = exit_share(FakeNet(), table(latency=False), [FIRST, FINAL_EXIT], 1)
    assert last.share == pytest.approx(5.5 / 5.0), "the heads evaluated on the way cost too"
    assert exit_share(FakeNet(), None, [FIRST, FINAL_EXIT], 0) is None
    assert exit_share(FakeNet(), table(False), ["features.9:other", FINAL_EXIT], 0) is None


def frame(index: int = 4, loop_pass: int = 1, dropped_in_pass: int = 0, dropped_total: int = 0, full=None):
    result = FrameResult(index=index, image=np.zeros((2, 2, 3), np.uint8), labels=np.zeros((2, 2), np.uint8),
                         exit_id=FIRST, exit_index=0, exit_depth=0.25, latency_ms=41.6, confidence=0.913,
                         full_latency_ms=full)
    return SimpleNamespace(result=result, exits=(FIRST, FINAL_EXIT), fps=12.34, frame_count=221,
                           loop_pass=loop_pass, dropped_in_pass=dropped_in_pass, dropped_total=dropped_total,
                           share=ExitShare(0.25, 4.0, "FLOPs"))


def test_readouts_of_a_frame():
    shown = frame(full=95.2)
    readouts = frame_readouts(shown)
    assert readouts.values == {"exit": "features.3", "latency": "42 ms", "fps": "12.3", "confidence": "91 %",
                               "dropped": "0", "frame": "5"}
    assert readouts.details["exit"] == "exit 1 of 2 · 25 % of the network · 4.0x faster"
    assert readouts.details["latency"] == "full network 95 ms" and readouts.details["frame"] == "of 221"
    assert FIRST in readouts.exit_tooltip and "FLOPs" in readouts.exit_tooltip
    assert frame_readouts(shown, paused=True).values["fps"] == "paused"


def test_frame_and_dropped_both_count_the_pass():
    readouts = frame_readouts(frame(index=2, loop_pass=3, dropped_in_pass=1, dropped_total=57))
    assert readouts.values["frame"] == "3" and readouts.values["dropped"] == "1"
    assert readouts.details["frame"] == "of 221, pass 3" and readouts.details["dropped"] == "57 in all"
    assert "pass" in TOOLTIPS["dropped"] and "pass" in TOOLTIPS["frame"]

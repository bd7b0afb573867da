"""Deadline mode on the Live page without Qt: LiveControls' deadline (over the kept exits or the model's rungs,
exclusive with Anytime, from a configuration file, persisted), the deadline's tally and its readouts."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from core.models.spec import FINAL_EXIT
from core.runtime.config import ExitConfig
from core.runtime.live import FrameResult
from core.runtime.policy import PolicySettings
from core.runtime.video.deadline_tally import DeadlineTally
from core.runtime.video.exit_words import ExitShare
from core.runtime.video.live_controls import DEADLINE_MS, DEADLINE_RANGE_MS, LiveControls
from core.runtime.video.live_readout import deadline_depth_words, deadline_latency_words, frame_readouts

FIRST = "features.3:fcn-c64-b0"
MIDDLE = "features.9:fcn-c64-b0"
RUNGS = (FIRST, MIDDLE, FINAL_EXIT)


def two_exits(th: float = 0.7) -> ExitConfig:
    return ExitConfig([FIRST, FINAL_EXIT], th_pix=[th, th], th_img=[th, th], policy=PolicySettings(scale=0.5))


def controls_with_rungs(config: ExitConfig | None = None) -> LiveControls:
    controls = LiveControls(config)
    controls.set_default_rungs(RUNGS)
    return controls


# --- LiveControls -------------------------------------------------------------------------------

def test_the_deadline_is_off_by_default_and_runs_over_the_kept_exits_when_on():
    controls = controls_with_rungs(two_exits())
    assert not controls.deadline and controls.deadline_ms == DEADLINE_MS == 20.0
    assert controls.run_config == two_exits()
    assert controls.set_deadline(True) and not controls.set_deadline(True)
    config = controls.run_config
    assert config.mode == "deadline" and config.deadline_ms == 20.0 and config.exits == [FIRST, FINAL_EXIT]
    assert config.policy == PolicySettings(scale=0.5), "the configuration's policy is kept"
    assert controls.set_deadline_ms(35) and controls.run_config.deadline_ms == 35.0
    assert not controls.set_deadline_ms(35.0)
    assert controls.set_deadline(False)
    assert controls.run_config == two_exits(), "off: the configuration applied before runs again"


def test_thresholds_moved_before_the_deadline_come_back_after_it():
    controls = controls_with_rungs(two_exits())
    controls.set_thresholds(0.4, 0.6)
    controls.set_deadline(True)
    assert not controls.has_thresholds and not controls.nudge("th_img", 1), "the time decides, not the thresholds"
    assert "Deadline 20 ms" in controls.thresholds_text()
    controls.set_deadline(False)
    assert controls.run_config.th_pix == [0.4, 0.4] and controls.run_config.th_img == [0.6, 0.6]


@pytest.mark.parametrize("config", [None, ExitConfig.static(FIRST)], ids=["full network", "one exit"])
def test_a_configuration_of_one_exit_or_none_runs_the_deadline_over_the_models_rungs(config):
    controls = controls_with_rungs(config)
    controls.set_deadline(True)
    assert controls.run_config.mode == "deadline" and tuple(controls.run_config.exits) == RUNGS
    view = controls.config_view({FIRST: 0.25, MIDDLE: 0.6, FINAL_EXIT: 1.0})
    assert view.caption == "(deadline 20 ms)" and not view.thresholds_enabled
    assert [name for name, _ in view.exits] == ["features.3", "features.9", "final"]
    assert "first head at each exit point" in view.note and "20 ms" in view.note
    controls.set_deadline(False)
    assert controls.run_config == config


def test_without_a_model_the_deadline_has_nothing_to_choose_from():
    controls = LiveControls()
    controls.set_deadline(True)
    assert controls.run_config is None, "no rungs yet: the full network, until a model gives them"


def test_the_deadline_milliseconds_stay_in_range():
    controls = LiveControls()
    low, high = DEADLINE_RANGE_MS
    controls.set_deadline_ms(0)
    assert controls.deadline_ms == low == 1.0
    controls.set_deadline_ms(5000)
    assert controls.deadline_ms == high == 1000.0
    controls.set_deadline_ms(12.345)
    assert controls.deadline_ms == 12.3


def test_anytime_and_the_deadline_turn_each_other_off():
    controls = controls_with_rungs(two_exits())
    controls.set_anytime(True)
    assert controls.set_deadline(True) and not controls.anytime and controls.run_config.mode == "deadline"
    assert controls.set_anytime(True) and not controls.deadline and controls.run_config == two_exits()
    assert controls.toggle_deadline() and controls.deadline and not controls.anytime


def test_the_full_network_toggle_overrides_the_deadline_and_gives_it_back():
    controls = controls_with_rungs(two_exits())
    controls.set_deadline(True)
    controls.set_full_network(True)
    assert controls.run_config is None and controls.deadline
    controls.set_full_network(False)
    assert controls.run_config.mode == "deadline"


def test_a_deadline_configuration_from_a_file_turns_the_deadline_on_at_its_milliseconds():
    controls = controls_with_rungs()
    controls.set_anytime(True)
    loaded = ExitConfig.deadline([FIRST, FINAL_EXIT], 25.5, PolicySettings(scale=0.5))
    controls.apply_config(loaded)
    assert controls.deadline and controls.deadline_ms == 25.5 and not controls.anytime
    assert controls.run_config == loaded
    controls.set_deadline(False)
    off = controls.run_config
    assert off.mode == "dynamic" and off.exits == [FIRST, FINAL_EXIT] and off.th_img == loaded.th_img
    assert off.policy == loaded.policy, "off: the same exits, left early by the file's thresholds"
    controls.apply_config(two_exits())
    assert not controls.deadline, "a configuration of another mode leaves the deadline as it was"
    controls.set_deadline(True)
    controls.apply_config(ExitConfig([MIDDLE, FINAL_EXIT]))
    assert controls.deadline and controls.run_config.exits == [MIDDLE, FINAL_EXIT], "on: over the new exits"


def test_the_deadline_is_never_told_it_does_not_fire_and_it_persists():
    controls = controls_with_rungs(two_exits())
    controls.set_deadline(True)
    for _ in range(40):
        controls.watch.frame((FIRST, FINAL_EXIT), FINAL_EXIT)
    assert controls.no_exit_hint() == "", "a deadline that lets frames reach the final exit does its job"
    controls.set_deadline_ms(42)
    assert controls.settings()["deadline"] is True and controls.settings()["deadline_ms"] == 42.0


# --- the tally and the readouts ---------------------------------------------------------------------

def test_a_tally_counts_overruns_and_the_mean_depth_of_its_own_deadline():
    config = ExitConfig.deadline([FIRST, FINAL_EXIT], 25)
    tally = DeadlineTally.of(config)
    assert tally.frames == 0 and tally.mean_depth is None and tally.counts(config)
    tally = tally.add(20.0, 0.25).add(31.2, 1.0).add(25.0, 0.25)
    assert (tally.frames, tally.overruns) == (3, 1) and tally.mean_depth == pytest.approx(0.5)
    assert not tally.counts(ExitConfig.deadline([FIRST, FINAL_EXIT], 30))
    assert not tally.counts(ExitConfig.deadline([MIDDLE, FINAL_EXIT], 25))
    assert not tally.counts(ExitConfig([FIRST, FINAL_EXIT]))
    with pytest.raises(ValueError, match="not mode 'dynamic'"):
        DeadlineTally.of(ExitConfig([FIRST, FINAL_EXIT]))


def test_deadline_words_for_a_frame_within_and_past_the_deadline():
    tally = DeadlineTally(25.0, (FIRST, FINAL_EXIT), frames=120, overruns=3, depth_sum=74.4)
    assert deadline_latency_words(tally, 21.24) == "21.2 ms of the 25 ms deadline · 3 of 120 frames over"
    assert deadline_latency_words(tally, 31.2) == "past the 25 ms deadline by 6.2 ms · 3 of 120 frames over"
    assert deadline_latency_words(DeadlineTally(25.0, (FIRST,)), 3.0) == "3.0 ms of the 25 ms deadline"
    assert deadline_depth_words(tally) == "mean exit depth 0.62"
    assert deadline_depth_words(DeadlineTally(25.0, (FIRST,))) == ""


def deadline_frame(tally: DeadlineTally | None, full: float | None = None):
    result = FrameResult(index=4, image=np.zeros((2, 2, 3), np.uint8), labels=np.zeros((2, 2), np.uint8),
                         exit_id=FIRST, exit_index=0, exit_depth=0.25, latency_ms=31.2, confidence=0.913,
                         full_latency_ms=full)
    return SimpleNamespace(result=result, exits=(FIRST, FINAL_EXIT), fps=12.34, frame_count=221, loop_pass=1,
                           dropped_in_pass=0, dropped_total=0, share=ExitShare(0.25, 4.0, "FLOPs"), deadline=tally)


def test_the_readouts_in_deadline_mode_show_the_deadline_overruns_and_mean_depth():
    tally = DeadlineTally(25.0, (FIRST, FINAL_EXIT), frames=8, overruns=2, depth_sum=4.0)
    readouts = frame_readouts(deadline_frame(tally))
    assert readouts.values["latency"] == "31 ms"
    assert readouts.details["latency"] == "past the 25 ms deadline by 6.2 ms · 2 of 8 frames over"
    assert readouts.details["exit"] == "exit 1 of 2 · 25 % of the network · 4.0x faster · mean exit depth 0.50"
    assert "Deadline 25 ms" in readouts.exit_tooltip
    assert readouts.values["confidence"] == "–", "no exit policy runs under a deadline: no confidence to show"
    assert readouts.details["confidence"] == "not computed: the time decides"
    beside = frame_readouts(deadline_frame(tally, full=95.2)).details["latency"]
    assert beside.splitlines() == ["past the 25 ms deadline by 6.2 ms · 2 of 8 frames over", "full network 95 ms"]
    plain = frame_readouts(deadline_frame(None))
    assert plain.details["latency"] == "" and "deadline" not in plain.details["exit"]
    assert plain.values["confidence"] == "91 %" and plain.details["confidence"] == ""
    assert "Deadline" not in plain.exit_tooltip


def test_a_remembered_deadline_configuration_gives_way_to_the_deadline_setting_saved_since():
    loaded = ExitConfig.deadline([FIRST, FINAL_EXIT], 25.5)
    controls = controls_with_rungs()
    controls.set_deadline_ms(42)                     # restored from the settings: off, 42 ms
    controls.apply_config(loaded, restored=True)
    assert not controls.deadline and controls.deadline_ms == 42.0
    assert controls.run_config.mode == "dynamic" and controls.run_config.exits == [FIRST, FINAL_EXIT]
    controls.set_deadline(True)
    assert controls.run_config == ExitConfig.deadline([FIRST, FINAL_EXIT], 42)
